import { useBackend } from '../../backend/useBackend.js';
import type { AugmentOptions } from '../../data/augment.js';
import { InputError } from '../../errors.js';
import { fineTuneImageFolder } from '../../finetune/folder.js';
import { progressReporter } from '../../training/progress.js';
import {
  BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, type FlagValues, formatFlags, intFlag, MAX_CORRUPT_FLAG, maxCorruptFractionFlag, negatableFlag, negatableValue, numberFlag, parseFlags, stringFlag,
  WORKERS_FLAG, workersFlag,
} from '../args.js';
import { SHORT_RUN_STEPS } from '../../finetune/finetune.js';
import type { Command } from '../command.js';
import { QUANTIZE_FLAG, quantizeFlag, writeQuantizedCopies } from '../quantized.js';
import { downloadBar } from '../downloadBar.js';
import { givenFlags, stoppable } from '../interrupt.js';

const FLAGS: FlagSpecs = {
  data: { type: 'string', value: 'DIR', help: 'image folder: DIR/<class>/<image> (PNG, JPEG, WebP, GIF) (required, except with --resume)' },
  resume: { type: 'string', value: 'DIR', help: 'continue the stopped run in DIR (its data, split, stages and settings; only --epochs, --out, --data, --workers, --cache may change)' },
  weights: {
    type: 'string', value: 'NAME|PATH',
    help: "starting point: 'imagenet' (torchvision's IMAGENET1K_V2, downloaded once), IMAGENET1K_V1, a model directory (model.json) or a torchvision state_dict (.pth or .safetensors) (default: random init)",
  },
  epochs: { type: 'string', value: 'N', help: 'total epochs, both stages (default 5)' },
  'freeze-features': { type: 'boolean', help: 'train only the classifier' },
  'unfreeze-after': { type: 'string', value: 'N', help: 'train only the classifier for N epochs, then every layer at lr × --unfreeze-lr-factor' },
  'unfreeze-lr-factor': { type: 'string', value: 'F', help: 'learning-rate factor of the second stage (default 0.1)' },
  patience: { type: 'string', value: 'N', help: 'early stopping: end a stage after N epochs without a better validation accuracy (default off)' },
  'val-split': { type: 'string', value: 'F', help: 'fraction of every class held out for validation (default 0.1)' },
  lr: { type: 'string', value: 'RATE', help: 'learning rate (default 0.001)' },
  'batch-size': { type: 'string', value: 'N', help: 'training batch size (default 32, or smaller for a folder under 256 training images: about 8 steps per epoch, never below 8 images)' },
  out: { type: 'string', value: 'DIR', help: 'output directory (default runs/finetune-<timestamp>, or the resumed run\'s directory)' },
  seed: { type: 'string', value: 'N', help: 'seed for the split, new weights, shuffling and augmentation (default random)' },
  arch: { type: 'string', value: 'imagenet|mnist', help: 'architecture of a random start (default imagenet)' },
  alpha: { type: 'string', value: 'A', help: 'width multiplier of a random start (default 1)' },
  channels: { type: 'string', value: '1|3', help: 'input channels of a random start (default 3, or 1 with --arch mnist)' },
  'input-size': { type: 'string', value: 'N|HxW', help: "input size (default: the starting point's; 224, or 28 with --arch mnist)" },
  mean: { type: 'string', value: 'M[,M,M]', help: "normalization mean over [0, 1] pixels (default: the starting point's)" },
  std: { type: 'string', value: 'S[,S,S]', help: "normalization std (default: the starting point's)" },
  'new-head': { type: 'boolean', help: 're-initialize the classifier even when the classes match the checkpoint' },
  ...negatableFlag(
    'recalibrate-bn',
    `after every epoch, re-estimate BatchNorm statistics from one pass over the training images (default: on for runs under ${SHORT_RUN_STEPS} steps whose BatchNorm trains)`,
    'never recalibrate BatchNorm (keep the moving averages of training)',
  ),
  flip: { type: 'boolean', help: 'augment: random horizontal flips (not for digits or text)' },
  shift: { type: 'string', value: 'F', help: 'augment: random shifts up to F of the size, e.g. 0.1' },
  crop: { type: 'boolean', help: 'augment: random resized crops (scale 0.08-1, ratio 3/4-4/3)' },
  cache: { type: 'string', value: 'auto|memory|stream', help: 'keep decoded images in memory or decode per batch (default auto, by size)' },
  ...MAX_CORRUPT_FLAG,
  progress: { type: 'string', value: 'auto|bar|lines|none', help: 'progress display on stderr (default auto: a bar on a terminal, lines otherwise; none also hides the epoch lines)' },
  ...QUANTIZE_FLAG,
  'log-every': { type: 'string', value: 'N', help: 'steps between progress lines and metrics.jsonl entries (default 50)' },
  ...WORKERS_FLAG,
  ...COMMON_FLAGS,
};

function listFlag(flags: FlagValues, name: string): number[] | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  const values = v.split(',').map((s) => Number(s));
  if (values.some((n, i) => !Number.isFinite(n) || v.split(',')[i].trim() === '') || (values.length !== 1 && values.length !== 3)) {
    throw new InputError(`--${name} must be 1 or 3 comma-separated numbers; received ${JSON.stringify(v)}`);
  }
  return values;
}

function sizeFlag(flags: FlagValues): [number, number] | undefined {
  const v = stringFlag(flags, 'input-size');
  if (v === undefined) return undefined;
  const match = /^\s*(\d+)\s*(?:x\s*(\d+)\s*)?$/i.exec(v);
  const [h, w] = match ? [Number(match[1]), Number(match[2] ?? match[1])] : [0, 0];
  if (!match || h < 1 || w < 1) throw new InputError(`--input-size must be N or HxW with positive integers; received ${JSON.stringify(v)}`);
  return [h, w];
}

/** Flags a checkpoint does not keep, which a resume must repeat. */
const RESUME_FLAGS = ['workers', 'backend', 'cache', 'quantize'];

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'fine-tune on an image folder (DIR/<class>/<image>) from a checkpoint, torchvision weights or scratch',
  help: () => `Usage: mobilenetv2 finetune --data DIR [options]

Fine-tunes MobileNetV2 on the images in DIR/<class>/<image>, classes sorted by name. Images are
resized to the model's input and converted to its channel count (RGB <-> grayscale). A stratified,
seeded share of every class (--val-split) is held out for validation. When the class count differs
from the starting point's, the classifier is replaced and everything else is loaded.

Writes to --out: model.json (best epoch by validation accuracy, plain TF.js, with classNames, mean,
std and inputShape in its metadata), last/, metrics.jsonl, loss.svg/png, accuracy.svg/png and
confusion.svg/png; with --quantize, a copy of model.json with smaller weights in quantized-<dtype>/
(model.json itself stays float32, for evaluate and further fine-tuning).

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is {"valAccuracy", "valLoss", "classes", "epochs", "out", ...}.

Examples:
  mobilenetv2 finetune --data data/flowers --weights imagenet --unfreeze-after 3 --epochs 8 --flip
  mobilenetv2 finetune --data data/digits --weights runs/mnist --unfreeze-after 2 --epochs 6 --json
  mobilenetv2 finetune --data data/flowers --weights mobilenet_v2.safetensors --input-size 160 --freeze-features --flip
  mobilenetv2 finetune --data data/digits --arch mnist --epochs 10 --seed 1
  mobilenetv2 finetune --data data/flowers --weights imagenet --input-size 160 --quantize uint8
  mobilenetv2 finetune --resume runs/finetune-2024-01-01-12-00-00

Ctrl-C (or SIGTERM) stops within a step and prints what was saved and the --resume command;
a second one stops at once.`,

  async run(argv, io) {
    const { flags } = parseFlags('finetune', argv, FLAGS);
    const data = stringFlag(flags, 'data');
    const resume = stringFlag(flags, 'resume');
    if (data === undefined && resume === undefined) throw new InputError("--data DIR is required; run 'mobilenetv2 finetune --help' for the options");
    const shift = numberFlag(flags, 'shift', { min: 0, max: 0.5, inclusiveMin: true });
    // Unset flags stay undefined, so that a resume can tell them from settings that differ.
    const augment: AugmentOptions | undefined = flags.flip || flags.crop || shift !== undefined
      ? { flip: flags.flip === true, crop: flags.crop === true, shift } : undefined;
    const flag = (name: string) => (flags[name] === true ? true : undefined);
    const channels = choiceFlag(flags, 'channels', ['1', '3'] as const);
    const options = {
      data,
      resume,
      weights: stringFlag(flags, 'weights'),
      epochs: intFlag(flags, 'epochs', 1),
      freezeFeatures: flag('freeze-features'),
      unfreezeAfter: intFlag(flags, 'unfreeze-after', 0),
      unfreezeLrFactor: numberFlag(flags, 'unfreeze-lr-factor', { min: 0 }),
      patience: intFlag(flags, 'patience', 1),
      valSplit: numberFlag(flags, 'val-split', { min: 0, max: 1, inclusiveMin: true }),
      learningRate: numberFlag(flags, 'lr', { min: 0 }),
      batchSize: intFlag(flags, 'batch-size', 1),
      out: stringFlag(flags, 'out'),
      seed: intFlag(flags, 'seed', 0),
      arch: choiceFlag(flags, 'arch', ['imagenet', 'mnist'] as const),
      alpha: numberFlag(flags, 'alpha', { min: 0 }),
      channels: channels === undefined ? undefined : (Number(channels) as 1 | 3),
      inputSize: sizeFlag(flags),
      mean: listFlag(flags, 'mean'),
      std: listFlag(flags, 'std'),
      newHead: flag('new-head'),
      recalibrateBatchNorm: negatableValue(flags, 'recalibrate-bn') ?? ('auto' as const),
      augment,
      cache: choiceFlag(flags, 'cache', ['auto', 'memory', 'stream'] as const),
      maxCorruptFraction: maxCorruptFractionFlag(flags),
      workers: workersFlag(flags),
      logEvery: intFlag(flags, 'log-every', 1),
    };
    if (options.freezeFeatures && options.unfreezeAfter !== undefined) {
      throw new InputError('--freeze-features and --unfreeze-after exclude each other: the first never unfreezes');
    }
    const progress = choiceFlag(flags, 'progress', ['auto', 'bar', 'lines', 'none'] as const) ?? 'auto';
    const quantize = quantizeFlag(flags);
    const backend = await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');
    io.logger.info(`backend: ${backend}`);
    const context = { command: 'finetune', out: options.out ?? options.resume, resumeFlags: givenFlags(flags, RESUME_FLAGS) };
    const outcome = await stoppable(io, context, (stop) => fineTuneImageFolder({
      ...options,
      signal: stop.signal,
      pretrained: { onProgress: downloadBar(io.stderr) },
      callbacks: [progressReporter({ mode: progress, stream: io.stderr, logger: io.logger, validationLabel: 'val' }), stop.callbacks],
      logger: io.logger,
    }));
    if ('exitCode' in outcome) return outcome.exitCode;
    const { result } = outcome;
    for (const s of result.stages) {
      io.logger.info(`epochs ${s.firstEpoch}-${s.lastEpoch}: trained ${s.trains === 'head' ? 'the classifier only' : 'every layer'}, `
        + `${s.secondsPerEpoch.toFixed(2)} s/epoch, ${s.trainImagesPerSec.toFixed(1)} img/s`);
    }
    const accuracy = result.valAccuracy === undefined ? 'no validation split' : `validation accuracy ${(100 * result.valAccuracy).toFixed(2)}%`;
    io.logger.info(`${accuracy} (best epoch ${result.best?.epoch ?? '-'}); saved ${result.out}/model.json`);
    const quantized = await writeQuantizedCopies(result.out, quantize, io.logger);
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({
        valAccuracy: result.valAccuracy ?? null,
        valLoss: result.valLoss ?? null,
        classes: result.classNames,
        epochs: result.epochs,
        out: result.out,
        bestEpoch: result.best?.epoch ?? null,
        trainImages: result.trainImages,
        valImages: result.valImages,
        cache: result.cacheMode,
        backend,
        seed: result.seed,
        stages: result.stages,
        ...(quantize.length > 0 && { quantized }),
      })}\n`);
    }
    return 0;
  },
};
