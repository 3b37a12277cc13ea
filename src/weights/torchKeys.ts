import { type Architecture, convUnits } from '../models/architecture.js';
import { architectureWithin, requireArchitecture } from '../models/architectureOf.js';
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

const identity = (data: Float32Array) => data;

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

/** The torchvision module path of every weighted layer of `arch`, by layer name. */
function modulePaths(arch: Architecture): Map<string, string> {
  const paths = new Map<string, string>();
  for (const unit of convUnits(arch)) {
    paths.set(unit.layers.conv, unit.torch.conv);
    paths.set(unit.layers.bn, unit.torch.bn);
  }
  if (arch.head.kind === 'classifier') paths.set(arch.head.layers.classifier, arch.head.torch);
  return paths;
}

/**
 * Pairs every weight of a MobileNetV2 of this library (see `architectureOf`; a head added by hand
 * after it is reported as unmapped) with its key in a torchvision (or seed) MobileNetV2
 * state_dict, and the layout conversion between the two. The keys come from the model's
 * architecture description, which records each unit's torchvision module path.
 *
 * @throws InputError when `model` is not a MobileNetV2 of this library.
 * @example
 * for (const p of torchKeyMap(model).params) console.log(p.key, p.torchShape);
 */
export function torchKeyMap(model: tf.LayersModel): TorchKeyMap {
  const arch = architectureWithin(model);
  if (arch === null) requireArchitecture(model, 'torchKeyMap');
  const paths = modulePaths(arch!);
  const params: TorchParam[] = [];
  const batchNorms: string[] = [];
  const unmapped: string[] = [];
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const path = paths.get(layer.name);
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
