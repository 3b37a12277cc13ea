import { InputError } from '../errors.js';
import type { tf } from '../tf.js';
import {
  type Architecture, type ArchitectureConfig, blockLayer, HEAD_LAYER, type ConvUnit, describeMobileNetV2, LAST_LAYERS, STEM_LAYERS,
} from './architecture.js';
import type { InvertedResidualRow } from './options.js';

/** One layer of a model's serialized topology (`model.toJSON()`): the public, saved format. */
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

interface Topology {
  class_name: string;
  config: { layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
}

// A model's layers and wiring never change after it is built, so what was found once holds.
const known = new WeakMap<tf.LayersModel, Architecture | null>();

/** Records that `model` was built from `arch` (the builder knows; no need to check). */
export function rememberArchitecture(model: tf.LayersModel, arch: Architecture): void {
  known.set(model, arch);
}

function topologyOf(model: tf.LayersModel): Topology | null {
  const json = model.toJSON(null, false) as unknown as Topology;
  return json.class_name === 'Model' || json.class_name === 'Functional' ? json : null;
}

const pair = (v: unknown): [number, number] | null =>
  Array.isArray(v) && v.length === 2 && v.every(Number.isInteger) ? [v[0], v[1]] : typeof v === 'number' ? [v, v] : null;
const same = (v: unknown, n: number) => {
  const p = pair(v);
  return p !== null && p[0] === n && p[1] === n;
};
const close = (a: unknown, b: number) => typeof a === 'number' && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** What one layer of the description must be: class, config and the layers feeding it. */
interface Expected {
  name: string;
  className: string;
  inbound: string[];
  check(config: Record<string, unknown>): boolean;
}

function expectedLayers(arch: Architecture): { layers: Expected[]; output: string } {
  const { epsilon, momentum } = arch.config.batchNorm;
  const layers: Expected[] = [{
    name: arch.input, className: 'InputLayer', inbound: [],
    check: (c) => JSON.stringify(c.batch_input_shape) === JSON.stringify([null, ...arch.inputShape]),
  }];
  const channelsLast = (c: Record<string, unknown>) => c.data_format === undefined || c.data_format === 'channels_last';
  const add = (name: string, className: string, inbound: string[], check: Expected['check'] = () => true) => {
    layers.push({ name, className, inbound, check: (c) => channelsLast(c) && check(c) });
    return name;
  };
  let from = arch.input;
  // The units in the description's own order, each wired to what feeds it.
  const unitOutput = (unit: ConvUnit, input: string) => {
    let x = input;
    if (unit.layers.pad) x = add(unit.layers.pad, 'ZeroPadding2D', [x], (c) => JSON.stringify(c.padding) === JSON.stringify([[unit.padding, unit.padding], [unit.padding, unit.padding]]));
    const padding = unit.layerPadding === 'same' ? 'same' : 'valid';
    const conv = (c: Record<string, unknown>) =>
      same(c.kernel_size, unit.kernelSize) && same(c.strides, unit.stride) && c.padding === padding && same(c.dilation_rate ?? 1, 1)
      && c.activation === 'linear' && c.use_bias === false;
    x = unit.op === 'depthwise'
      ? add(unit.layers.conv, 'DepthwiseConv2D', [x], (c) => conv(c) && c.depth_multiplier === 1)
      : add(unit.layers.conv, 'Conv2D', [x], (c) => conv(c) && c.filters === unit.outChannels);
    x = add(unit.layers.bn, 'BatchNormalization', [x], (c) =>
      (c.axis === -1 || c.axis === 3) && close(c.epsilon, epsilon) && close(c.momentum, 1 - momentum) && c.center !== false && c.scale !== false);
    if (unit.layers.act) x = add(unit.layers.act, 'Activation', [x], (c) => c.activation === 'relu6');
    return x;
  };
  from = unitOutput(arch.stem, from);
  for (const block of arch.blocks) {
    let x = from;
    for (const unit of [block.expand, block.depthwise, block.project]) if (unit) x = unitOutput(unit, x);
    from = block.shortcut ? add(block.shortcut.layer, 'Add', [from, x]) : x;
  }
  from = unitOutput(arch.last, from);
  const head = arch.head;
  if (head.kind === 'pool') {
    from = add(head.layers.pool, head.pooling === 'avg' ? 'GlobalAveragePooling2D' : 'GlobalMaxPooling2D', [from]);
  } else if (head.kind === 'classifier') {
    from = add(head.layers.pool, 'GlobalAveragePooling2D', [from]);
    from = add(head.layers.dropout, 'Dropout', [from], (c) => close(c.rate, head.dropout));
    from = add(head.layers.classifier, 'Dense', [from], (c) => c.units === head.numClasses && c.activation === head.activation && c.use_bias !== false);
  }
  return { layers, output: from };
}

/**
 * Why `topology` is not the network `arch` describes, or null when it is. With `exact`, the
 * model must be that network and nothing else; without, it may go on past it (a head added by
 * hand), but every described layer must be there, wired as described.
 */
function mismatch(arch: Architecture, topology: Topology, exact: boolean): string | null {
  const byName = new Map(topology.config.layers.map((l) => [l.name, l]));
  const { layers, output } = expectedLayers(arch);
  for (const want of layers) {
    const layer = byName.get(want.name);
    if (!layer) return `it has no layer '${want.name}'`;
    if (layer.class_name !== want.className) return `'${want.name}' is a ${layer.class_name}, not a ${want.className}`;
    if (!want.check(layer.config)) return `'${want.name}' is configured differently (${want.className})`;
    const nodes = layer.inbound_nodes;
    const inbound = nodes.length === 1 ? nodes[0]!.map((n) => n[0]) : nodes.length === 0 ? [] : null;
    if (inbound === null || JSON.stringify(inbound) !== JSON.stringify(want.inbound)) {
      return `'${want.name}' is fed by ${inbound ? inbound.join(', ') || 'nothing' : 'several calls'}, not ${want.inbound.join(', ')}`;
    }
  }
  const { input_layers: inputs, output_layers: outputs } = topology.config;
  if (inputs.length !== 1 || inputs[0]![0] !== arch.input) return 'it does not have the single input';
  if (!exact) return null;
  if (topology.config.layers.length !== layers.length) {
    const extra = topology.config.layers.find((l) => !layers.some((w) => w.name === l.name));
    return `it has a layer the architecture does not ('${extra?.name}')`;
  }
  if (outputs.length !== 1 || outputs[0]![0] !== output) return `its output is not '${output}'`;
  return null;
}

/**
 * The config of the network a topology holds, read off its layers' configs at the names the
 * description gives them: stem, then blocks while `block_{i}_depthwise` exists, the last conv,
 * the head. Channel counts come out exact (α 1, rounding to 1, explicit stem and last widths),
 * so the description rebuilt from it has exactly these layers. Null when it is not one of ours.
 */
function recoverConfig(topology: Topology): ArchitectureConfig | null {
  const byName = new Map(topology.config.layers.map((l) => [l.name, l]));
  const cfg = (name: string) => byName.get(name)?.config;
  const input = topology.config.layers.find((l) => l.class_name === 'InputLayer')?.config.batch_input_shape as (number | null)[] | undefined;
  const stem = cfg(STEM_LAYERS.conv);
  const bn = cfg(STEM_LAYERS.bn);
  const last = cfg(LAST_LAYERS.conv);
  if (!input || input.length !== 4 || !stem || !bn || !last) return null;
  const rows: InvertedResidualRow[] = [];
  let channels = stem.filters as number;
  for (let i = 0; cfg(blockLayer(i, 'depthwise')); i++) {
    const stride = pair(cfg(blockLayer(i, 'depthwise'))!.strides)?.[0];
    const out = cfg(blockLayer(i, 'project'))?.filters as number | undefined;
    const expand = cfg(blockLayer(i, 'expand'))?.filters as number | undefined;
    const t = expand === undefined ? 1 : expand / channels;
    if (stride === undefined || out === undefined || !Number.isInteger(t)) return null;
    const previous = rows[rows.length - 1];
    if (previous && stride === 1 && previous[0] === t && previous[1] === out) rows[rows.length - 1] = [t, out, previous[2] + 1, previous[3]];
    else rows.push([t, out, 1, stride]);
    channels = out;
  }
  if (rows.length === 0) return null;
  const dense = cfg(HEAD_LAYER);
  const pooling = byName.get('global_max_pooling2d') ? 'max' : byName.get('global_average_pooling2d') ? 'avg' : 'none';
  return {
    inputShape: [input[1]!, input[2]!, input[3]!],
    numClasses: (dense?.units as number | undefined) ?? 1000,
    alpha: 1,
    invertedResidualSetting: rows,
    roundNearest: 1,
    firstChannels: stem.filters as number,
    lastChannels: last.filters as number,
    dropout: (cfg('dropout')?.rate as number | undefined) ?? 0.2,
    includeTop: dense !== undefined,
    pooling: dense ? 'none' : pooling,
    classifierActivation: dense?.activation === 'softmax' ? 'softmax' : 'linear',
    batchNorm: { epsilon: bn.epsilon as number, momentum: 1 - (bn.momentum as number) },
  };
}

function describeQuietly(config: unknown): Architecture | null {
  try {
    return describeMobileNetV2(config as ArchitectureConfig);
  } catch {
    return null;
  }
}

function find(model: tf.LayersModel, exact: boolean): { arch: Architecture | null; why: string } {
  const topology = topologyOf(model);
  if (topology === null) return { arch: null, why: 'it is not a functional model' };
  const recorded = (model.getUserDefinedMetadata() as { architecture?: unknown } | undefined)?.architecture;
  let why = 'its layers are not those of a MobileNetV2 built by this library';
  for (const config of [recorded, recoverConfig(topology)]) {
    if (config === undefined || config === null) continue;
    const arch = describeQuietly(config);
    if (arch === null) continue;
    const wrong = mismatch(arch, topology, exact);
    if (wrong === null) return { arch, why: '' };
    why = wrong;
  }
  return { arch: null, why };
}

/**
 * The {@link Architecture} of `model` when it is a MobileNetV2 of this library, or null. A
 * model built here is known at once. A model loaded from `model.json` is described by the
 * config it recorded (`userDefinedMetadata.architecture`) or, failing that, by its layers'
 * configs; either way every layer the description names is then checked against the model
 * (class, config, wiring) and nothing else may be in it, so a model that merely reuses the
 * names gets null.
 *
 * @example
 * const arch = architectureOf(await loadModel('runs/mnist'));
 * arch?.blocks.length; // 10 for the seed's MNIST table
 */
export function architectureOf(model: tf.LayersModel): Architecture | null {
  if (known.has(model)) return known.get(model)!;
  const { arch } = find(model, true);
  known.set(model, arch);
  return arch;
}

/**
 * {@link architectureOf}, or an `InputError` naming `what` needs it and what is wrong with the
 * model.
 *
 * @example
 * const arch = requireArchitecture(model, 'exportOnnx');
 */
export function requireArchitecture(model: tf.LayersModel, what: string): Architecture {
  const arch = architectureOf(model);
  if (arch) return arch;
  throw new InputError(`${what} supports MobileNetV2 models built by this library (mobileNetV2, mobileNetV2Mnist, pretrainedMobileNetV2, fine-tuned checkpoints); model '${model.name}' is not one: ${find(model, true).why}`);
}

/**
 * The architecture `model` starts with when it is a MobileNetV2 of this library followed by
 * layers of its own (a head added by hand), or exactly one: every described layer is there,
 * wired as described. Null otherwise.
 */
export function architectureWithin(model: tf.LayersModel): Architecture | null {
  return architectureOf(model) ?? find(model, false).arch;
}

/** Where a MobileNetV2 of this library sits at the start of a bigger graph: its layers and output. */
export interface ArchitecturePrefix {
  arch: Architecture;
  /** Its layers in the bigger model (input layer left out). */
  layers: Set<tf.layers.Layer>;
  /** Its output tensor in the bigger graph. */
  output: tf.SymbolicTensor;
}

const prefixes = new WeakMap<tf.LayersModel, ArchitecturePrefix | null>();

/**
 * The MobileNetV2 of this library that `model`'s graph starts with when the model goes on past
 * it (a Sequential made of such a model and a head flattens both into one graph), or null;
 * null too when `model` is exactly one (see {@link architectureOf}).
 *
 * @example
 * const base = mobileNetV2({ includeTop: false, pooling: 'avg' });
 * const head = tf.layers.dense({ units: 3 }).apply(base.outputs[0]) as tf.SymbolicTensor;
 * architecturePrefix(tf.model({ inputs: base.inputs, outputs: head }))?.arch.head; // { kind: 'pool', ... }
 */
export function architecturePrefix(model: tf.LayersModel): ArchitecturePrefix | null {
  if (prefixes.has(model)) return prefixes.get(model)!;
  let prefix: ArchitecturePrefix | null = null;
  const arch = architectureOf(model) ? null : find(model, false).arch;
  if (arch) {
    const { layers, output } = expectedLayers(arch);
    const byName = new Map(model.layers.map((l) => [l.name, l]));
    prefix = {
      arch,
      layers: new Set(layers.slice(1).map((l) => byName.get(l.name)!)),
      output: byName.get(output)!.output as tf.SymbolicTensor,
    };
  }
  prefixes.set(model, prefix);
  return prefix;
}
