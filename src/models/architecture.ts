import { BATCH_NORM_DEFAULTS } from '../layers/batchNorm.js';
import { makeDivisible } from '../layers/makeDivisible.js';
import { checkBoolean, checkOptions, keysOf } from '../options/check.js';
import {
  checkAlpha, checkBatchNorm, checkInputShape, checkOneOf, checkPositiveInt, checkRate, checkTable,
  type InvertedResidualRow, type MobileNetV2Options, type Pooling,
} from './options.js';

/** The paper's Table 2, as in torchvision. */
export const IMAGENET_SETTING: readonly InvertedResidualRow[] = [
  // t, c, n, s
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * Everything that decides the network, with every default filled in: what {@link describeMobileNetV2}
 * reads, and what a saved model records (`userDefinedMetadata.architecture`). JSON as it is.
 */
export interface ArchitectureConfig {
  inputShape: [number, number, number];
  numClasses: number;
  alpha: number;
  invertedResidualSetting: InvertedResidualRow[];
  roundNearest: number;
  /** Stem channels before α. */
  firstChannels: number;
  /** Channels of the last 1×1 conv, final. */
  lastChannels: number;
  dropout: number;
  includeTop: boolean;
  pooling: Pooling;
  classifierActivation: 'linear' | 'softmax';
  batchNorm: { epsilon: number; momentum: number };
}

/** One conv → BatchNorm (→ ReLU6) unit: torchvision's `Conv2dNormActivation`, or a block's linear projection. */
export interface ConvUnit {
  /** 'conv' is a dense Conv2D; 'depthwise' a DepthwiseConv2D of multiplier 1 (PyTorch's `groups = channels`). */
  op: 'conv' | 'depthwise';
  role: 'stem' | 'expand' | 'depthwise' | 'project' | 'last';
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  /** Zero padding on every side, PyTorch's `(k − 1) / 2`. */
  padding: number;
  /**
   * How the stock layers express that padding. TF's 'same' equals the symmetric padding only at
   * stride 1 (at stride 2 on an even input it pads 0 before and 1 after, shifting every output),
   * so strided k > 1 convs get a ZeroPadding2D and 'valid'.
   */
  layerPadding: 'explicit' | 'same' | 'valid';
  activation: 'relu6' | 'linear';
  /** [height, width] in and out. */
  inputSize: [number, number];
  outputSize: [number, number];
  /** Names of its stock layers; `pad` only when `layerPadding` is 'explicit', `act` only with ReLU6. */
  layers: { pad?: string; conv: string; bn: string; act?: string };
  /** torchvision module paths of the conv and the BatchNorm. */
  torch: { conv: string; bn: string };
}

/** The inverted residual block (Sandler et al. 2018, Table 1): torchvision's `features[index + 1]`. */
export interface Block {
  /** 0-based, as in the layer names `block_{index}_*`. */
  index: number;
  /** Row of the t, c, n, s table the block comes from. */
  row: number;
  /** torchvision module path, `features.{index + 1}`. */
  torch: string;
  expandRatio: number;
  inChannels: number;
  hiddenChannels: number;
  outChannels: number;
  stride: number;
  /** pw: absent when t = 1. */
  expand: ConvUnit | null;
  /** dw: carries the stride. */
  depthwise: ConvUnit;
  /** pw-linear: no activation (ReLU in the narrow bottleneck destroys information, §3.2). */
  project: ConvUnit;
  /** The identity shortcut's Add layer, exactly when the block keeps resolution and width. */
  shortcut: { layer: string } | null;
}

/** What follows the last conv. */
export type Head =
  | {
      kind: 'classifier';
      layers: { pool: string; dropout: string; classifier: string };
      dropout: number;
      inFeatures: number;
      numClasses: number;
      activation: 'linear' | 'softmax';
      /** torchvision's `classifier.1` (`classifier.0` is the dropout). */
      torch: string;
    }
  | { kind: 'pool'; pooling: 'avg' | 'max'; layers: { pool: string } }
  | { kind: 'none' };

/**
 * A MobileNetV2 as data: the t, c, n, s table decoded once into its units, each with the names
 * of the stock layers it is built from, its torchvision module path, stride, expansion and
 * channels. The model builder, the training forward pass, the inference plan, the torchvision
 * key mapping, freezing, `summarize` and the ONNX export all read this; none of them looks at
 * layer names to find out what a layer is.
 */
export interface Architecture {
  config: ArchitectureConfig;
  inputShape: [number, number, number];
  /** Name of the InputLayer. */
  input: string;
  stem: ConvUnit;
  blocks: Block[];
  /** The 1×1 conv to `lastChannels` before the head: torchvision's last `features` entry. */
  last: ConvUnit;
  head: Head;
  /** The model's output: [classes], [channels] after pooling, or the [h, w, channels] feature map. */
  outputShape: number[];
}

/** The option names {@link mobileNetV2} takes. */
export const MOBILENETV2_OPTIONS = keysOf<MobileNetV2Options>()({
  inputShape: true, numClasses: true, alpha: true, invertedResidualSetting: true, roundNearest: true, firstChannels: true, lastChannels: true,
  dropout: true, includeTop: true, pooling: true, classifierActivation: true, batchNorm: true, seed: true, name: true,
});

// Keras's MobileNetV2(weights='imagenet') is the spelling users try first; ours is a separate function.
const HINTS = { weights: "for torchvision's ImageNet weights call pretrainedMobileNetV2({ weights: 'imagenet' })" };

/** Checks `options` and fills in every default: the paper's and torchvision's. */
export function architectureConfig(options: MobileNetV2Options = {}): ArchitectureConfig {
  checkOptions(options, MOBILENETV2_OPTIONS, 'mobileNetV2', HINTS);
  const alpha = checkAlpha(options.alpha ?? 1.0);
  const table = checkTable(options.invertedResidualSetting ?? IMAGENET_SETTING);
  const roundNearest = checkPositiveInt('roundNearest', options.roundNearest ?? 8);
  const totalStride = table.reduce((acc, row) => acc * row[3], 2);
  return {
    inputShape: [...checkInputShape(options.inputShape ?? [224, 224, 3], totalStride)],
    numClasses: checkPositiveInt('numClasses', options.numClasses ?? 1000),
    alpha,
    invertedResidualSetting: table.map(([t, c, n, s]) => [t, c, n, s] as const),
    roundNearest,
    firstChannels: checkPositiveInt('firstChannels', options.firstChannels ?? 32),
    lastChannels: checkPositiveInt('lastChannels', options.lastChannels ?? makeDivisible(1280 * Math.max(1, alpha), roundNearest)),
    dropout: checkRate('dropout', options.dropout ?? 0.2),
    includeTop: checkBoolean('includeTop', options.includeTop ?? true),
    pooling: checkOneOf('pooling', options.pooling ?? 'none', ['avg', 'max', 'none']),
    classifierActivation: checkOneOf('classifierActivation', options.classifierActivation ?? 'linear', ['linear', 'softmax']),
    batchNorm: checkBatchNorm(options.batchNorm ?? BATCH_NORM_DEFAULTS),
  };
}

// The layer names. Keras's spelling, with block 0 being the t = 1 block that Keras calls
// `expanded_conv`; users freeze by these prefixes and map weights by them.
export const STEM_LAYERS = { pad: 'Conv1_pad', conv: 'Conv1', bn: 'bn_Conv1', act: 'Conv1_relu' } as const;
export const LAST_LAYERS = { conv: 'Conv_1', bn: 'Conv_1_bn', act: 'out_relu' } as const;
/** The classifier's name in every model this library builds (Keras's; torchvision's `classifier.1`). */
export const HEAD_LAYER = 'predictions';
/** The name of a part of block `index`: `block_{index}_{part}`. */
export const blockLayer = (index: number, part: 'expand' | 'expand_BN' | 'expand_relu' | 'pad' | 'depthwise' | 'depthwise_BN' | 'depthwise_relu' | 'project' | 'project_BN' | 'add') =>
  `block_${index}_${part}`;

const outSize = (size: number, kernel: number, stride: number, pad: number) => Math.floor((size + 2 * pad - kernel) / stride) + 1;

interface UnitArgs {
  op: ConvUnit['op'];
  role: ConvUnit['role'];
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  activation: ConvUnit['activation'];
  inputSize: [number, number];
  names: { pad: string; conv: string; bn: string; act: string };
  torch: ConvUnit['torch'];
}

function convUnit(args: UnitArgs): ConvUnit {
  const { kernelSize: k, stride, names } = args;
  const padding = (k - 1) >> 1;
  const layerPadding = k === 1 ? 'valid' : stride > 1 ? 'explicit' : 'same';
  return {
    op: args.op, role: args.role, inChannels: args.inChannels, outChannels: args.outChannels, kernelSize: k, stride, padding, layerPadding,
    activation: args.activation,
    inputSize: args.inputSize,
    outputSize: [outSize(args.inputSize[0], k, stride, padding), outSize(args.inputSize[1], k, stride, padding)],
    layers: {
      ...(layerPadding === 'explicit' && { pad: names.pad }),
      conv: names.conv,
      bn: names.bn,
      ...(args.activation === 'relu6' && { act: names.act }),
    },
    torch: args.torch,
  };
}

/** Whether a block has the identity shortcut: exactly when it keeps both resolution and width. */
export function hasShortcut(inChannels: number, outChannels: number, stride: number): boolean {
  return stride === 1 && inChannels === outChannels;
}

/**
 * The inverted residual block `index` (torchvision's `features[index + 1]`) from `inChannels` at
 * `inputSize`: expand with a 1×1 conv (unless t = 1), filter with a 3×3 depthwise conv that
 * carries the stride, project back with a linear 1×1 conv.
 */
export function describeBlock(
  index: number, row: number, inChannels: number, inputSize: [number, number], expandRatio: number, outChannels: number, stride: number,
): Block {
  // torchvision rounds (int(round(inp * t))); for integer t this is exact.
  const hidden = Math.round(inChannels * expandRatio);
  const torch = `features.${index + 1}`;
  // Inside torchvision's InvertedResidual.conv Sequential: [expand?, depthwise, project conv, project BN].
  const at = expandRatio === 1 ? 0 : 1;
  const expand = expandRatio === 1 ? null : convUnit({
    op: 'conv', role: 'expand', inChannels, outChannels: hidden, kernelSize: 1, stride: 1, activation: 'relu6', inputSize,
    names: { pad: '', conv: blockLayer(index, 'expand'), bn: blockLayer(index, 'expand_BN'), act: blockLayer(index, 'expand_relu') },
    torch: { conv: `${torch}.conv.0.0`, bn: `${torch}.conv.0.1` },
  });
  const depthwise = convUnit({
    op: 'depthwise', role: 'depthwise', inChannels: hidden, outChannels: hidden, kernelSize: 3, stride, activation: 'relu6', inputSize,
    names: { pad: blockLayer(index, 'pad'), conv: blockLayer(index, 'depthwise'), bn: blockLayer(index, 'depthwise_BN'), act: blockLayer(index, 'depthwise_relu') },
    torch: { conv: `${torch}.conv.${at}.0`, bn: `${torch}.conv.${at}.1` },
  });
  const project = convUnit({
    op: 'conv', role: 'project', inChannels: hidden, outChannels, kernelSize: 1, stride: 1, activation: 'linear', inputSize: depthwise.outputSize,
    names: { pad: '', conv: blockLayer(index, 'project'), bn: blockLayer(index, 'project_BN'), act: '' },
    torch: { conv: `${torch}.conv.${at + 1}`, bn: `${torch}.conv.${at + 2}` },
  });
  return {
    index, row, torch, expandRatio, inChannels, hiddenChannels: hidden, outChannels, stride, expand, depthwise, project,
    shortcut: hasShortcut(inChannels, outChannels, stride) ? { layer: blockLayer(index, 'add') } : null,
  };
}

/**
 * Decodes MobileNetV2 options (see {@link mobileNetV2}) into the network's {@link Architecture}:
 * the table-plus-loop of torchvision's `mobilenetv2.py`, run once. Checks every option and
 * throws an `InputError` naming the first bad one.
 *
 * @example
 * const arch = describeMobileNetV2({ alpha: 0.5, inputShape: [96, 96, 3], numClasses: 10 });
 * arch.blocks[1].torch;             // 'features.2'
 * arch.blocks[1].depthwise.stride;  // 2
 */
export function describeMobileNetV2(options: MobileNetV2Options | ArchitectureConfig = {}): Architecture {
  const { seed: _seed, name: _name, ...rest } = options as MobileNetV2Options;
  const config = architectureConfig(rest);
  const { alpha, roundNearest, inputShape } = config;
  const [h, w, channels] = inputShape;

  const stem = convUnit({
    op: 'conv', role: 'stem', inChannels: channels, outChannels: makeDivisible(config.firstChannels * alpha, roundNearest),
    kernelSize: 3, stride: 2, activation: 'relu6', inputSize: [h, w], names: STEM_LAYERS,
    torch: { conv: 'features.0.0', bn: 'features.0.1' },
  });
  const blocks: Block[] = [];
  let inChannels = stem.outChannels;
  let size = stem.outputSize;
  config.invertedResidualSetting.forEach(([t, c, n, s], row) => {
    const outChannels = makeDivisible(c * alpha, roundNearest);
    for (let i = 0; i < n; i++) {
      const block = describeBlock(blocks.length, row, inChannels, size, t, outChannels, i === 0 ? s : 1);
      blocks.push(block);
      inChannels = outChannels;
      size = block.project.outputSize;
    }
  });
  const lastIndex = blocks.length + 1;
  const last = convUnit({
    op: 'conv', role: 'last', inChannels, outChannels: config.lastChannels, kernelSize: 1, stride: 1, activation: 'relu6', inputSize: size,
    names: { ...LAST_LAYERS, pad: '' }, torch: { conv: `features.${lastIndex}.0`, bn: `features.${lastIndex}.1` },
  });

  let head: Head;
  let outputShape: number[];
  if (config.includeTop) {
    head = {
      kind: 'classifier',
      layers: { pool: 'global_average_pooling2d', dropout: 'dropout', classifier: HEAD_LAYER },
      dropout: config.dropout, inFeatures: last.outChannels, numClasses: config.numClasses, activation: config.classifierActivation,
      torch: 'classifier.1',
    };
    outputShape = [config.numClasses];
  } else if (config.pooling !== 'none') {
    head = { kind: 'pool', pooling: config.pooling, layers: { pool: config.pooling === 'avg' ? 'global_average_pooling2d' : 'global_max_pooling2d' } };
    outputShape = [last.outChannels];
  } else {
    head = { kind: 'none' };
    outputShape = [...last.outputSize, last.outChannels];
  }
  return { config, inputShape: [h, w, channels], input: 'input', stem, blocks, last, head, outputShape };
}

/** The conv units in the order they run: stem, each block's expand, depthwise and project, the last conv. */
export function convUnits(arch: Architecture): ConvUnit[] {
  return [
    arch.stem,
    ...arch.blocks.flatMap((b) => [...(b.expand ? [b.expand] : []), b.depthwise, b.project]),
    arch.last,
  ];
}

/** How one consumer computes each part of the network on its own values (symbolic tensors, tensors, ONNX names, ...). */
export interface ArchitectureOps<T> {
  /** A conv unit on `x`. */
  unit(unit: ConvUnit, x: T): T;
  /** A block's identity shortcut: `input + x`. */
  add(block: Block, input: T, x: T): T;
  /** The head on the last conv's output. */
  head(head: Head, x: T): T;
  /** Called once for every intermediate value after its last use (never for the input or the output). */
  release?(x: T): void;
}

/**
 * Runs the network on `input` with `ops`: the one traversal of the architecture, shared by the
 * model builder, the training forward pass, the inference plan and the ONNX export, so that
 * they agree on the order and wiring by construction. Each intermediate is handed to
 * `ops.release` right after its last consumer, so a tensor-valued run keeps only what the
 * next unit (and a pending shortcut) needs.
 *
 * @example
 * // Multiply-adds of one image, carried along as the value.
 * const madds = runArchitecture(arch, 0, {
 *   unit: (u, n) => n + u.outputSize[0] * u.outputSize[1] * u.outChannels * u.kernelSize ** 2 * (u.op === 'depthwise' ? 1 : u.inChannels),
 *   add: (_, _input, n) => n,
 *   head: (h, n) => n + (h.kind === 'classifier' ? h.inFeatures * h.numClasses : 0),
 * });
 */
export function runArchitecture<T>(arch: Architecture, input: T, ops: ArchitectureOps<T>): T {
  const release = (x: T) => {
    if (x !== input) ops.release?.(x);
  };
  let x = ops.unit(arch.stem, input);
  for (const block of arch.blocks) {
    const y = runBlock(block, x, ops);
    release(x);
    x = y;
  }
  const features = ops.unit(arch.last, x);
  release(x);
  if (arch.head.kind === 'none') return features;
  const out = ops.head(arch.head, features);
  release(features);
  return out;
}

/**
 * One inverted residual block on `x` with `ops` (see {@link runArchitecture}): its units in order,
 * then the shortcut. Releases the block's own intermediates, not `x`.
 */
export function runBlock<T>(block: Block, x: T, ops: Pick<ArchitectureOps<T>, 'unit' | 'add' | 'release'>): T {
  let y = x;
  for (const unit of [block.expand, block.depthwise, block.project]) {
    if (unit === null) continue;
    const next = ops.unit(unit, y);
    if (y !== x) ops.release?.(y);
    y = next;
  }
  if (block.shortcut === null) return y;
  const sum = ops.add(block, x, y);
  ops.release?.(y);
  return sum;
}
