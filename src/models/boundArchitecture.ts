import type { tf } from '../tf.js';
import type { Architecture, ConvUnit } from './architecture.js';

/** A BatchNormalization layer's variables and settings, read through the public `weights` and `getConfig()`. */
export interface BoundBatchNorm {
  layer: tf.layers.Layer;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  epsilon: number;
  /** TF.js's momentum: the weight of the old value in the moving averages (1 − PyTorch's). */
  momentum: number;
}

/** One conv unit's layers in a model. */
export interface BoundUnit {
  unit: ConvUnit;
  pad: tf.layers.Layer | null;
  conv: tf.layers.Layer;
  /** The conv's kernel: [kh, kw, in, out], or [kh, kw, channels, 1] for a depthwise conv. */
  kernel: tf.LayerVariable;
  bn: BoundBatchNorm;
  act: tf.layers.Layer | null;
}

/** An architecture with the layer objects of one model that has it. */
export interface BoundArchitecture {
  arch: Architecture;
  model: tf.LayersModel;
  unit(unit: ConvUnit): BoundUnit;
  /** The layer the description names `name`. */
  layer(name: string): tf.layers.Layer;
}

/** The variable of `layer` named `weight` (`kernel`, `gamma`, `moving_mean`, ...). */
function variableOf(layer: tf.layers.Layer, weight: string): tf.LayerVariable {
  const variable = layer.weights.find((w) => w.originalName === `${layer.name}/${weight}` || w.originalName.endsWith(`/${weight}`));
  if (!variable) throw new Error(`layer '${layer.name}' has no weight '${weight}'`);
  return variable;
}

const cache = new WeakMap<tf.LayersModel, BoundArchitecture>();

/**
 * Binds `arch` to the layers of `model` (which `architectureOf` found to have it), once per
 * model: each unit's layer objects and variables, read through public API only. The weights
 * stay the model's own, so what is read here is always the current value.
 *
 * @example
 * const bound = bindArchitecture(model, architectureOf(model)!);
 * bound.unit(bound.arch.stem).kernel.shape; // [3, 3, 3, 32]
 */
export function bindArchitecture(model: tf.LayersModel, arch: Architecture): BoundArchitecture {
  const cached = cache.get(model);
  if (cached?.arch === arch) return cached;
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const layer = (name: string) => {
    const found = byName.get(name);
    if (!found) throw new Error(`model '${model.name}' has no layer '${name}'`);
    return found;
  };
  const units = new Map<ConvUnit, BoundUnit>();
  const unit = (u: ConvUnit): BoundUnit => {
    let bound = units.get(u);
    if (bound) return bound;
    const conv = layer(u.layers.conv);
    const bn = layer(u.layers.bn);
    const config = bn.getConfig() as { epsilon: number; momentum: number };
    bound = {
      unit: u,
      pad: u.layers.pad ? layer(u.layers.pad) : null,
      conv,
      kernel: variableOf(conv, u.op === 'depthwise' ? 'depthwise_kernel' : 'kernel'),
      bn: {
        layer: bn, gamma: variableOf(bn, 'gamma'), beta: variableOf(bn, 'beta'),
        movingMean: variableOf(bn, 'moving_mean'), movingVariance: variableOf(bn, 'moving_variance'),
        epsilon: config.epsilon, momentum: config.momentum,
      },
      act: u.layers.act ? layer(u.layers.act) : null,
    };
    units.set(u, bound);
    return bound;
  };
  const bound = { arch, model, unit, layer };
  cache.set(model, bound);
  return bound;
}
