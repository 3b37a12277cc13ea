/**
 * Fine-tunes MobileNetV2 on an image folder: the same program as `npx mobilenetv2 finetune`.
 *
 *   npx tsx scripts/make-image-folder.ts --out data/digits --per-class 60 --seed 1
 *   npx tsx examples/finetune.ts --data data/digits --weights runs/mnist --unfreeze-after 1 --epochs 4 --json
 *   npx tsx examples/finetune.ts --data data/flowers --weights imagenet --input-size 160 --unfreeze-after 2 --epochs 8 --flip
 *   npx tsx examples/finetune.ts --help
 *
 * For the library calls behind it, see fineTuneImageFolder() in src/training/finetuneFolder.ts.
 */
import { finetuneCommand } from '../src/cli/commands/finetune.js';
import { runMain } from '../src/cli/run.js';

runMain(finetuneCommand);
