import type { tf } from '../tf.js';
import { permute } from './layout.js';

/** One model weight and its PyTorch state_dict counterpart. */
export interface TorchParam {
  /** The state_dict key, e.g. `features.3.conv.1.0.weight`. */
  key: string;
  variable: tf.LayerVariable;
  /** The shape in PyTorch's layout, e.g. OIHW for a conv kernel. */
  torchShape: number[];
  /** PyTorch layout → TF.js layout. */
  toTf(data: Float32Array): Float32Array;
  /** TF.js layout → PyTorch layout. */
  toTorch(data: Float32Array): Float32Array;
}

export interface TorchKeyMap {
  /** In state_dict order (features in order, then the classifier). */
  params: TorchParam[];
  /** BatchNorm module prefixes, whose `<prefix>.num_batches_tracked` buffers exist in PyTorch only. */
  batchNorms: string[];
  /** Weights of layers with no torchvision counterpart (e.g. a head added by hand), as `layer/weight`. */
  unmapped: string[];
}

// Sub-module paths inside torchvision's InvertedResidual.conv Sequential when the block has the
// 1×1 expand conv (t ≠ 1): [expand ConvBNReLU, depthwise ConvBNReLU, project Conv2d, project BN].
// Without it every index shifts down by one. A ConvBNReLU is itself a Sequential (0 conv, 1 BN).
const BLOCK_PARTS: Record<string, [number, number?]> = {
  expand: [0, 0], expand_BN: [0, 1],
  depthwise: [1, 0], depthwise_BN: [1, 1],
  project: [2], project_BN: [3],
};

const BLOCK_LAYER = /^block_(\d+)_(expand|expand_BN|depthwise|depthwise_BN|project|project_BN)$/;

const identity = (data: Float32Array) => data;

/**
 * The module path of a layer in torchvision's MobileNetV2 (`features.0.0`, `features.5.conv.1.1`,
 * `classifier.1`), derived from the Keras-style layer names, so any table, width or head works:
 * Conv1 → features.0, block_i → features.{i+1}, Conv_1 → features.{blocks+1}, predictions → classifier.1.
 */
function modulePath(name: string, blockCount: number, hasExpand: (block: number) => boolean): string | undefined {
  switch (name) {
    case 'Conv1': return 'features.0.0';
    case 'bn_Conv1': return 'features.0.1';
    case 'Conv_1': return `features.${blockCount + 1}.0`;
    case 'Conv_1_bn': return `features.${blockCount + 1}.1`;
    case 'predictions': return 'classifier.1';
  }
  const match = BLOCK_LAYER.exec(name);
  if (!match) return undefined;
  const block = Number(match[1]);
  const [part, sub] = BLOCK_PARTS[match[2]];
  const index = hasExpand(block) ? part : part - 1;
  return `features.${block + 1}.conv.${index}${sub === undefined ? '' : `.${sub}`}`;
}

interface Conversion {
  suffix: string;
  torchShape(tfShape: number[]): number[];
  toTf(data: Float32Array, tfShape: number[]): Float32Array;
  toTorch(data: Float32Array, tfShape: number[]): Float32Array;
}

const same: Omit<Conversion, 'suffix'> = { torchShape: (s) => [...s], toTf: identity, toTorch: identity };

// Per layer class: TF.js weight name → PyTorch parameter name and layout change.
const CONVERSIONS: Record<string, Record<string, Conversion>> = {
  Conv2D: {
    // HWIO ↔ OIHW
    kernel: {
      suffix: 'weight',
      torchShape: ([h, w, i, o]) => [o, i, h, w],
      toTf: (data, [h, w, i, o]) => permute(data, [o, i, h, w], [2, 3, 1, 0]),
      toTorch: (data, shape) => permute(data, shape, [3, 2, 0, 1]),
    },
    bias: { suffix: 'bias', ...same },
  },
  DepthwiseConv2D: {
    // TF [H, W, C, M] ↔ PyTorch grouped conv [C·M, 1, H, W], whose output channel c·M + m is TF's (c, m).
    depthwise_kernel: {
      suffix: 'weight',
      torchShape: ([h, w, c, m]) => [c * m, 1, h, w],
      toTf: (data, [h, w, c, m]) => permute(data, [c, m, h, w], [2, 3, 0, 1]),
      toTorch: (data, shape) => permute(data, shape, [2, 3, 0, 1]),
    },
    bias: { suffix: 'bias', ...same },
  },
  BatchNormalization: {
    gamma: { suffix: 'weight', ...same },
    beta: { suffix: 'bias', ...same },
    moving_mean: { suffix: 'running_mean', ...same },
    moving_variance: { suffix: 'running_var', ...same },
  },
  Dense: {
    // [in, out] ↔ Linear's [out, in]
    kernel: {
      suffix: 'weight',
      torchShape: ([i, o]) => [o, i],
      toTf: (data, [i, o]) => permute(data, [o, i], [1, 0]),
      toTorch: (data, shape) => permute(data, shape, [1, 0]),
    },
    bias: { suffix: 'bias', ...same },
  },
};

/**
 * Pairs every weight of a model built by `mobileNetV2()`/`mobileNetV2Mnist()` with its key in a
 * torchvision (or seed) MobileNetV2 state_dict, and the layout conversion between the two.
 *
 * @example
 * for (const p of torchKeyMap(model).params) console.log(p.key, p.torchShape);
 */
export function torchKeyMap(model: tf.LayersModel): TorchKeyMap {
  const names = new Set(model.layers.map((l) => l.name));
  let blockCount = 0;
  for (const name of names) {
    const match = /^block_(\d+)_/.exec(name);
    if (match) blockCount = Math.max(blockCount, Number(match[1]) + 1);
  }
  const hasExpand = (block: number) => names.has(`block_${block}_expand`);

  const params: TorchParam[] = [];
  const batchNorms: string[] = [];
  const unmapped: string[] = [];
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const path = modulePath(layer.name, blockCount, hasExpand);
    const conversions = CONVERSIONS[layer.getClassName()];
    for (const variable of layer.weights) {
      const weightName = variable.originalName.slice(variable.originalName.lastIndexOf('/') + 1);
      const conversion = conversions?.[weightName];
      if (path === undefined || conversion === undefined) {
        unmapped.push(`${layer.name}/${weightName}`);
        continue;
      }
      const tfShape = [...variable.shape] as number[];
      params.push({
        key: `${path}.${conversion.suffix}`,
        variable,
        torchShape: conversion.torchShape(tfShape),
        toTf: (data) => conversion.toTf(data, tfShape),
        toTorch: (data) => conversion.toTorch(data, tfShape),
      });
    }
    if (path !== undefined && layer.getClassName() === 'BatchNormalization') batchNorms.push(path);
  }
  return { params, batchNorms, unmapped };
}
