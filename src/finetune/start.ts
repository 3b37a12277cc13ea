import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError, received } from '../errors.js';
import { checkOptions, checkPerChannel, checkSize, keysOf } from '../options/check.js';
import { loadModel } from '../io/fileSystem.js';
import { type Logger, silentLogger } from '../logger.js';
import type { tf } from '../tf.js';
import { loadStateDict } from '../weights/loadTorchWeights.js';
import { parseStateDict } from '../weights/stateDict.js';
import { buildTorchMobileNetV2, measureTorchMobileNetV2, type TableName } from '../weights/torchArchitecture.js';
import { recordedTorchModel } from '../weights/recordedModel.js';
import { defaultNormalization } from '../data/normalization.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';

export type { TableName } from '../weights/torchArchitecture.js';
import { HEAD_LAYER, rebuildWithHead, type TransferReport } from './model.js';
import { requireArchitecture } from '../models/architectureOf.js';
import { readModelMetadata } from '../training/metadata.js';
import { scaledResize } from '../data/evalTransform.js';
import { pretrainedFile, type PretrainedFileOptions } from '../pretrained/pretrainedFile.js';
import { isPretrainedName, PRETRAINED, type PretrainedSpec } from '../pretrained/weights.js';


export { IMAGENET_MEAN, IMAGENET_STD } from '../data/normalization.js';

/** Options of {@link loadStartingPoint}. Only `classNames` is required. */
export interface StartingPointOptions {
  /**
   * Where the weights come from: torchvision's ImageNet weights by name ('imagenet',
   * 'IMAGENET1K_V1', 'IMAGENET1K_V2'; downloaded once, see `pretrainedFile`), a directory saved by
   * this library (with `model.json`), a torchvision-format state_dict (`.pth`/`.pt` from
   * torch.save, or `.safetensors`), or undefined for a random initialization. Default undefined.
   */
  weights?: string;
  /** Cache directory, mirror URL and download progress for weights given by name. Default: see `pretrainedFile`. */
  pretrained?: PretrainedFileOptions;
  /** The classes to fine-tune on, in output order. */
  classNames: readonly string[];
  /** Table of a random start. Safetensors files and checkpoints carry their own. Default 'imagenet'. */
  arch?: TableName;
  /** Width multiplier of a random start (safetensors files are measured). Default 1. */
  alpha?: number;
  /** Input size, N or [height, width]. Default: the checkpoint's (or the state_dict's recorded one), else 224 (imagenet) or 28 (mnist). */
  inputSize?: number | readonly [number, number];
  /** Input channels of a random start. Default 3 (imagenet) or 1 (mnist). */
  channels?: 1 | 3;
  /** Normalization over [0, 1] pixels. Default: the checkpoint's metadata, else ImageNet's (RGB) or MNIST's (grayscale). */
  mean?: readonly number[];
  std?: readonly number[];
  /**
   * Re-initialize the classifier even when the class count matches. Default: only when the
   * count differs, or the checkpoint records different class names.
   */
  newHead?: boolean;
  /** Seeds the random initialization (all of it for a random start, the new head otherwise). Default unseeded. */
  seed?: number;
  logger?: Logger;
}

/** A model ready to fine-tune, and how it was made. */
export interface StartingPoint {
  model: tf.LayersModel;
  source: 'checkpoint' | 'safetensors' | 'pth' | 'pretrained' | 'scratch';
  /** [height, width, channels] the model takes; feed it images decoded to this shape. */
  inputShape: [number, number, number];
  mean: number[];
  std: number[];
  /**
   * torchvision's eval transform: the shorter side before the center crop, for pretrained
   * weights (232 at 224 for IMAGENET1K_V2, scaled for other sizes) and checkpoints made from
   * them. Undefined: images are resized straight to the input ('cover').
   */
  resize?: number;
  /** Layers (checkpoint) or state_dict keys (safetensors) loaded, and those freshly initialized. */
  transfer: TransferReport;
  /** The class names the checkpoint was trained on, when it records them. */
  sourceClassNames?: string[];
  /** One line for logs, e.g. "runs/mnist (checkpoint): loaded 52 layers, replaced predictions". */
  describe(): string;
}

function summarizeTransfer(name: string, source: string, transfer: TransferReport): string {
  const parts = [`loaded ${transfer.loaded.length} ${source === 'checkpoint' ? 'layers' : 'tensors'}`];
  if (transfer.replaced.length) parts.push(`replaced ${transfer.replaced.join(', ')} (shape differs; freshly initialized)`);
  if (transfer.missing.length) parts.push(`not in the source: ${transfer.missing.slice(0, 5).join(', ')}${transfer.missing.length > 5 ? ', ...' : ''}`);
  return `${name} (${source}): ${parts.join(', ')}`;
}

const START_OPTIONS = keysOf<StartingPointOptions>()({
  weights: true, pretrained: true, classNames: true, arch: true, alpha: true, inputSize: true, channels: true, mean: true, std: true,
  newHead: true, seed: true, logger: true,
});

/** The normalization to train with: the caller's, else the checkpoint's, else the default for the channel count. */
function normalization(options: StartingPointOptions, channels: number, recorded: { mean?: readonly number[]; std?: readonly number[] } = {}) {
  const fallback = defaultNormalization(channels);
  return {
    mean: checkPerChannel('mean', options.mean ?? recorded.mean ?? fallback.mean, channels),
    std: checkPerChannel('std', options.std ?? recorded.std ?? fallback.std, channels, { positive: true }),
  };
}

/** A recorded resize (the shorter side before the center crop) at another input size: the same framing, scaled with the crop. */
const rescaledResize = (resize: number, from: readonly [number, number], to: readonly [number, number]) =>
  Math.round((resize * Math.min(to[0], to[1])) / Math.min(from[0], from[1]));

/** The input size of a start without a recorded one: the table's native size. */
const defaultInputSize = (arch: TableName): [number, number] => (arch === 'mnist' ? [28, 28] : [224, 224]);

const isDirectory = (p: string) => fs.stat(p).then((s) => s.isDirectory(), () => false);

/**
 * Builds the model to fine-tune on `classNames`: from a checkpoint of this library, from a
 * torchvision-format state_dict (.pth or safetensors), or from scratch. When the class count differs
 * from the source's, the classifier (`predictions`, torchvision's `classifier.1`) is replaced
 * by a fresh one and everything else is loaded, matched by layer name or state_dict key; the
 * result says what was loaded and replaced. Input size and normalization come from the
 * checkpoint's metadata unless given.
 *
 * A checkpoint is rebuilt, not patched: a fresh model of the same architecture with the new
 * head is built from the checkpoint's own topology and its weights are copied by layer name,
 * so the result is plain stock layers that `tf.loadLayersModel` reads without this library.
 *
 * @example
 * const start = await loadStartingPoint({ weights: 'runs/mnist', classNames: ['cat', 'dog'] });
 * console.log(start.describe()); // runs/mnist (checkpoint): loaded 52 layers, replaced predictions ...
 */
export async function loadStartingPoint(options: StartingPointOptions): Promise<StartingPoint> {
  checkOptions(options, START_OPTIONS, 'loadStartingPoint');
  const logger = options.logger ?? silentLogger;
  const classNames = [...options.classNames];
  const numClasses = classNames.length;
  if (numClasses < 1) throw new InputError('classNames must not be empty');
  const inputSize = options.inputSize === undefined ? undefined : checkSize('inputSize', options.inputSize);
  const weights = options.weights;

  if (weights === undefined) {
    const arch = options.arch ?? 'imagenet';
    if (arch !== 'imagenet' && arch !== 'mnist') throw new InputError(`arch must be 'imagenet' or 'mnist'; received \`arch=${received(arch)}\``);
    const channels = options.channels ?? (arch === 'mnist' ? 1 : 3);
    if (channels !== 1 && channels !== 3) throw new InputError(`channels must be 1 or 3; received \`channels=${received(channels)}\``);
    const [h, w] = inputSize ?? defaultInputSize(arch);
    const inputShape: [number, number, number] = [h, w, channels];
    const model = buildTorchMobileNetV2(arch, { numClasses, inputShape, alpha: options.alpha, seed: options.seed });
    const transfer: TransferReport = { loaded: [], replaced: [], missing: model.layers.filter((l) => l.weights.length).map((l) => l.name) };
    return {
      model, source: 'scratch', inputShape, transfer, ...normalization(options, channels),
      describe: () => `random initialization (${arch}, ${inputShape.join('x')})`,
    };
  }

  const dir = path.basename(weights) === 'model.json' ? path.dirname(weights) : weights;
  if (await isDirectory(dir)) {
    const source = await loadModel(dir);
    try {
      const sourceShape = source.inputs[0].shape as (number | null)[];
      let meta: { classNames?: string[]; mean?: number[]; std?: number[]; resize?: number } = {};
      try {
        meta = readModelMetadata(source, dir);
      } catch (error) {
        if (options.mean === undefined || options.std === undefined) {
          logger.warn(`${(error as Error).message}; assuming the default normalization (pass mean and std to override)`);
        }
      }
      const channels = sourceShape[3] as number;
      const [h, w] = inputSize ?? [sourceShape[1] as number, sourceShape[2] as number];
      const head = requireArchitecture(source, `fine-tuning from ${dir}`).head;
      const sourceClasses = head.kind === 'classifier' ? head.numClasses : undefined;
      const sameClasses = sourceClasses === numClasses && (meta.classNames === undefined || meta.classNames.join('\n') === classNames.join('\n'));
      // A head trained on other labels is no start, even when its shape happens to fit.
      const { model, transfer } = await rebuildWithHead(source, {
        numClasses, inputSize: [h, w], seed: options.seed, freshHead: options.newHead || !sameClasses,
      });
      return {
        model, source: 'checkpoint', inputShape: [h, w, channels], transfer, ...normalization(options, channels, meta),
        ...(meta.classNames && { sourceClassNames: meta.classNames }),
        ...(meta.resize && { resize: rescaledResize(meta.resize, [sourceShape[1] as number, sourceShape[2] as number], [h, w]) }),
        describe: () => summarizeTransfer(dir, 'checkpoint', transfer),
      };
    } finally {
      source.dispose();
    }
  }

  let file = weights;
  let spec: PretrainedSpec | undefined;
  if (isPretrainedName(weights) && !(await fs.stat(weights).then(() => true, () => false))) {
    ({ path: file, spec } = await pretrainedFile(weights, { logger, ...options.pretrained }));
  }
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch {
    throw new InputError(`${weights}: cannot read the weights; expected a model directory (with model.json), a torchvision .pth or a .safetensors state_dict`);
  }
  const stateDict = parseStateDict(bytes, file);
  // A state_dict from saveTorchWeights (or back from scripts/torch_ddp.py) records its network
  // and preprocessing: any table, width and input size come back as they left. Others are
  // measured from their shapes (torchvision's table or the MNIST one).
  const recorded = recordedTorchModel(stateDict, file);
  const measured = recorded ? null : measureTorchMobileNetV2(stateDict, file);
  const channels = recorded ? recorded.config.inputShape[2] : measured!.channels;
  const recordedSize = recorded && (recorded.preprocessing.inputShape ?? recorded.config.inputShape);
  const [h, w] = inputSize ?? (recordedSize ? [recordedSize[0], recordedSize[1]] : defaultInputSize(measured!.arch));
  const inputShape: [number, number, number] = [h, w, channels];
  const build = () => (recorded
    ? mobileNetV2({ ...recorded.config, includeTop: true, numClasses, inputShape, seed: options.seed })
    : buildTorchMobileNetV2(measured!.arch, { numClasses, inputShape, alpha: measured!.alpha, seed: options.seed, lastChannels: measured!.lastChannels }));
  const model = build();
  const result = loadStateDict(model, stateDict, file, false);
  const headKeys = ['classifier.1.weight', 'classifier.1.bias'];
  const transfer: TransferReport = {
    loaded: result.loaded,
    replaced: result.mismatched.map((m) => m.key),
    missing: result.missing,
  };
  // A head trained on other labels is no start, even when its shape happens to fit.
  const recordedClasses = recorded?.preprocessing.classNames;
  const otherLabels = recordedClasses !== undefined && recordedClasses.join('\n') !== classNames.join('\n');
  if ((options.newHead || otherLabels) && result.loaded.some((k) => headKeys.includes(k))) {
    const fresh = build();
    model.getLayer(HEAD_LAYER).setWeights(fresh.getLayer(HEAD_LAYER).getWeights());
    fresh.dispose();
    transfer.loaded = transfer.loaded.filter((k) => !headKeys.includes(k));
    transfer.replaced.push(...headKeys);
  }
  if (result.unexpected.length) logger.warn(`${file}: ignored ${result.unexpected.length} keys the model does not have (${result.unexpected.slice(0, 3).join(', ')})`);
  const source = spec ? 'pretrained' : stateDict.metadata.format?.startsWith('pytorch') ? 'pth' : 'safetensors';
  // A local copy of torchvision's file (torch.hub's cache, a manual download) is told by its name,
  // as torch.hub names it: models fine-tuned from it get the same eval transform as from the name.
  const transformOf = spec ?? Object.values(PRETRAINED).find((s) => path.basename(file) === s.file);
  const pre = recorded?.preprocessing;
  const recordedResize = pre?.resize && recordedSize ? rescaledResize(pre.resize, [recordedSize[0], recordedSize[1]], [h, w]) : undefined;
  return {
    model, source, inputShape, transfer, ...normalization(options, channels, pre),
    ...(recordedClasses && { sourceClassNames: recordedClasses }),
    ...(recordedResize ? { resize: recordedResize } : transformOf && { resize: scaledResize(transformOf.transform, [h, w]) }),
    describe: () => summarizeTransfer(spec ? `${spec.name} (${file})` : file, source, transfer),
  };
}
