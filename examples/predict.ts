/**
 * Classifies images with a saved model: the same program as `npx mobilenetv2 predict`.
 *
 *   npx tsx examples/predict.ts --model runs/digits data/digits/7/0001.png --top-k 3
 *   npx tsx examples/predict.ts --model runs/digits image.jpg --json
 *   npx tsx examples/predict.ts --weights imagenet photo.jpg --features embeddings.npy
 *
 * For the library calls behind it, see loadClassifier() and classifyImages() in src/predict/classifier.ts.
 */
import { predictCommand } from '../src/cli/commands/predict.js';
import { runMain } from '../src/cli/run.js';

runMain(predictCommand);
