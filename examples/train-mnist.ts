/**
 * Trains MobileNetV2 on MNIST: the same program as `npx mobilenetv2 train-mnist`.
 *
 *   npx tsx examples/train-mnist.ts --json                 # seed recipe, 3 epochs
 *   npx tsx examples/train-mnist.ts --recipe strong --seed 1
 *   npx tsx examples/train-mnist.ts --help
 *
 * For the library calls behind it, see trainMnist() in src/training/trainMnist.ts.
 */
import { trainMnistCommand } from '../src/cli/commands/trainMnist.js';
import { runMain } from '../src/cli/run.js';

runMain(trainMnistCommand);
