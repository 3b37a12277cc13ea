import { InputError } from '../errors.js';
import { activationOf, type BatchNormFields, type ConvLayerFields, isChannelsLastBatchNorm } from '../layers/layerFields.js';
import { canWalk, type Graph, type GraphNode, graphOf, orderedNodes, readCounts, walkGraph } from '../layers/graph.js';
import { tf } from '../tf.js';

/** A model's forward pass in inference mode, with each BatchNormalization folded into the conv before it. */
export interface InferencePlan {
  /**
   * The model's output for `x` (one forward pass over the whole batch, like `model.apply`), equal
   * to `model.predict(x)` within float32 rounding. Leaves only the returned tensor.
   */
  predict(x: tf.Tensor): tf.Tensor;
  /** Convs that run fused with a following BatchNormalization or activation: 0 when the plan is `model.predict`. */
  readonly fusedConvs: number;
  /** Disposes the folded weights; the model is untouched. */
  dispose(): void;
}

type FusedActivation = 'linear' | 'relu' | 'relu6';

/** Optionally a zero padding, then a conv, then optionally a BatchNormalization and an activation, run as one fused conv. */
interface FusedConv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D | undefined;
  activation: FusedActivation;
  /** The zero padding folded in, as the conv's explicit pads; null: the conv's own padding. */
  pad: [[0, 0], [number, number], [number, number], [0, 0]] | null;
}

const undilated = (rate: number | [number, number]) => (Array.isArray(rate) ? rate.every((r) => r === 1) : rate === 1);

/**
 * Whether `layer` is a channels-last conv whose output BatchNormalization and an activation can
 * be folded into: linear activation. tfjs-layers' DepthwiseConv2D ignores its dilation rate
 * (it passes none to the op), so a dilated one is left to its own `call` to keep its numbers.
 */
function isFoldableConv(layer: tf.layers.Layer): boolean {
  const name = layer.getClassName();
  if (name !== 'Conv2D' && name !== 'DepthwiseConv2D') return false;
  const conv = layer as unknown as ConvLayerFields;
  if (conv.dataFormat !== 'channelsLast' || activationOf(layer) !== 'linear') return false;
  return name === 'Conv2D' || undilated(conv.dilationRate);
}

/**
 * The pads of a channels-last ZeroPadding2D that a following 'valid' DepthwiseConv2D can take as
 * explicit pads instead (Keras's MobileNetV2 pads before each strided depthwise conv), or null.
 * Depthwise only: the stock wasm depthwise kernel, which runs both forms, takes explicit pads
 * (checked by the randomized differential tests, at multiplier 1: stock wasm's depthwise
 * kernel writes outside its buffers for some convs with larger multipliers, so those keep their
 * ZeroPadding2D, as model.predict runs them), while an explicitly padded Conv2D would move from
 * XNNPACK to this library's slower kernel for the 3-channel stem (see dispatch.ts).
 */
function foldablePadding(pad: tf.layers.Layer, conv: tf.layers.Layer): [[number, number], [number, number]] | null {
  if (pad.getClassName() !== 'ZeroPadding2D' || conv.getClassName() !== 'DepthwiseConv2D') return null;
  const { padding, dataFormat } = pad as unknown as { padding: [[number, number], [number, number]]; dataFormat: string };
  const { depthMultiplier } = conv as unknown as { depthMultiplier: number };
  return dataFormat === 'channelsLast' && (conv as unknown as ConvLayerFields).padding === 'valid' && depthMultiplier === 1 && isFoldableConv(conv) ? padding : null;
}

/** The activation a fused conv applies for `layer`: `Activation('relu' | 'relu6')`, `ReLU()` or `ReLU({ maxValue: 6 })`; else null. */
function fusableActivation(layer: tf.layers.Layer): FusedActivation | null {
  const name = layer.getClassName();
  if (name === 'Activation') {
    const activation = activationOf(layer);
    return activation === 'relu' || activation === 'relu6' ? activation : null;
  }
  if (name === 'ReLU') {
    const { maxValue } = layer as unknown as { maxValue?: number | null };
    return maxValue == null ? 'relu' : maxValue === 6 ? 'relu6' : null;
  }
  return null;
}

/**
 * The conv's filter and bias with `bn` folded in. Inference-mode BatchNormalization is the affine
 * map y = (x − mean)·s + β with s = γ/√(var + ε) per channel, so conv-then-BN is the conv with
 * filter w·s (per output channel) and bias (b − mean)·s + β.
 */
function foldedWeights(layer: tf.layers.Layer, bn: tf.layers.Layer | null): { filter: tf.Tensor4D; bias: tf.Tensor1D | undefined } {
  return tf.tidy(() => {
    const conv = layer as unknown as ConvLayerFields;
    const depthwise = conv.depthwiseKernel !== undefined;
    const kernel = (depthwise ? conv.depthwiseKernel! : conv.kernel!).read() as tf.Tensor4D;
    const bias = conv.bias?.read() as tf.Tensor1D | undefined;
    if (bn === null) return { filter: tf.keep(kernel.clone()), bias: bias && tf.keep(bias.clone()) };
    const norm = bn as unknown as BatchNormFields;
    const mean = norm.movingMean.read() as tf.Tensor1D;
    let scale = tf.rsqrt(tf.add(norm.movingVariance.read(), norm.epsilon)) as tf.Tensor1D;
    if (norm.gamma) scale = tf.mul(scale, norm.gamma.read());
    // A depthwise filter is [kh, kw, in, multiplier] and output channel c·multiplier + m, so the
    // scale, indexed by output channel, reshapes to its last two axes.
    const [, , inChannels, multiplier] = kernel.shape;
    const filter = tf.mul(kernel, depthwise ? tf.reshape(scale, [inChannels, multiplier]) : scale) as tf.Tensor4D;
    let folded = tf.mul(bias ? tf.sub(bias, mean) : tf.neg(mean), scale) as tf.Tensor1D;
    if (norm.beta) folded = tf.add(folded, norm.beta.read());
    return { filter: tf.keep(filter), bias: tf.keep(folded) };
  });
}

/** A graph compiled for inference: its nodes with fusable chains replaced, and nested graphs compiled too. */
interface Compiled {
  graph: Graph;
  nodes: GraphNode[];
  fused: Map<GraphNode, FusedConv>;
  nested: Map<tf.layers.Layer, Compiled>;
}

function compile(graph: Graph): Compiled {
  const all = orderedNodes(graph);
  const reads = readCounts(graph, all);
  const consumer = new Map<number, GraphNode>();
  for (const node of all) for (const t of node.inputTensors) consumer.set(t.id, node);
  // The only node that reads `t`, when nothing else does (no second consumer, not a graph output).
  const soleConsumer = (t: tf.SymbolicTensor) => (reads.get(t.id) === 1 ? consumer.get(t.id) ?? null : null);
  const single = (node: GraphNode) => node.inputTensors.length === 1 && node.outputTensors.length === 1;

  const skipped = new Set<GraphNode>();
  const fused = new Map<GraphNode, FusedConv>();
  const nested = new Map<tf.layers.Layer, Compiled>();
  const padded = new Map<GraphNode, { from: GraphNode; padding: [[number, number], [number, number]] }>();
  const nodes: GraphNode[] = [];
  try {
    for (const node of all) {
      if (skipped.has(node)) continue;
      const layer = node.outboundLayer;
      const inner = graphOf(layer);
      if (inner !== null && !nested.has(layer)) nested.set(layer, compile(inner));
      const conv = single(node) ? soleConsumer(node.outputTensors[0]!) : null;
      const padding = conv && single(conv) ? foldablePadding(layer, conv.outboundLayer) : null;
      if (padding) {
        padded.set(conv!, { from: node, padding });
        continue;
      }
      if (!single(node) || !isFoldableConv(layer)) {
        nodes.push(node);
        continue;
      }
      const pad = padded.get(node);
      let last = node;
      let bn: tf.layers.Layer | null = null;
      const next = soleConsumer(node.outputTensors[0]!);
      if (next && single(next) && isChannelsLastBatchNorm(next.outboundLayer, 4)) {
        bn = next.outboundLayer;
        last = next;
      }
      const after = soleConsumer(last.outputTensors[0]!);
      const activation = after && single(after) ? fusableActivation(after.outboundLayer) : null;
      if (activation) last = after!;
      if (last === node && !pad) {
        nodes.push(node);
        continue;
      }
      if (bn) skipped.add(next!);
      if (activation) skipped.add(after!);
      const chain: GraphNode = { ...node, inputTensors: (pad?.from ?? node).inputTensors, outputTensors: last.outputTensors };
      const explicit = pad ? [[0, 0], ...pad.padding, [0, 0]] as FusedConv['pad'] : null;
      fused.set(chain, { ...foldedWeights(layer, bn), activation: activation ?? 'linear', pad: explicit });
      nodes.push(chain);
    }
  } catch (error) {
    disposeCompiled({ graph, nodes, fused, nested });
    throw error;
  }
  return { graph, nodes, fused, nested };
}

function disposeCompiled(compiled: Compiled): void {
  for (const f of compiled.fused.values()) tf.dispose([f.filter, ...(f.bias ? [f.bias] : [])]);
  compiled.nested.forEach(disposeCompiled);
}

const countFused = (compiled: Compiled): number =>
  compiled.fused.size + [...compiled.nested.values()].reduce((n, c) => n + countFused(c), 0);

function runCompiled(compiled: Compiled, inputs: tf.Tensor[]): tf.Tensor[] {
  return walkGraph(compiled.graph, compiled.nodes, inputs, (node, args) => {
    const layer = node.outboundLayer;
    const inner = compiled.nested.get(layer);
    if (inner) return runCompiled(inner, args);
    const fused = compiled.fused.get(node);
    if (fused) {
      const conv = layer as unknown as ConvLayerFields;
      const common = {
        x: args[0] as tf.Tensor4D, filter: fused.filter, strides: conv.strides, pad: fused.pad ?? conv.padding as 'same' | 'valid',
        dataFormat: 'NHWC' as const, bias: fused.bias, activation: fused.activation,
      };
      // The fused depthwise op takes explicit pads (computeConv2DInfo reads them) though its
      // typings list only 'same', 'valid' and a number.
      return [layer.getClassName() === 'DepthwiseConv2D'
        ? tf.fused.depthwiseConv2d(common as Omit<typeof common, 'pad'> & { pad: 'valid' })
        : tf.fused.conv2d({ ...common, dilations: conv.dilationRate })];
    }
    return [layer.call(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: false })].flat() as tf.Tensor[];
  });
}

/**
 * Throws when `x` cannot be the model's input: another rank, or another size along an axis
 * other than an image's height and width. Like `model.apply` (and unlike `model.predict`), an
 * image model takes other image sizes, which its convs and global pooling handle.
 */
function checkInput(model: tf.LayersModel, x: tf.Tensor): void {
  const expected = model.inputs[0]!.shape;
  const spatial = (i: number) => expected.length === 4 && (i === 1 || i === 2);
  const fits = x instanceof tf.Tensor && x.rank === expected.length && expected.every((d, i) => d == null || spatial(i) || d === x.shape[i]);
  if (!fits) {
    const got = x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : typeof x;
    throw new InputError(`x must fit the model's input shape [${expected.map((d) => d ?? 'N').join(', ')}]; received ${got}`);
  }
}

/**
 * An inference plan for `model`: the same forward pass as `model.predict`, in inference mode,
 * with every channels-last Conv2D or DepthwiseConv2D (linear activation, bias or not) that feeds
 * only a BatchNormalization on its last axis run as one conv whose filter and bias have the
 * BatchNormalization folded in, and an activation that alone follows it (`Activation('relu6')`,
 * `Activation('relu')`, `ReLU()`, `ReLU({ maxValue: 6 })`) fused into that conv, as
 * `torch.ao.quantization.fuse_modules` and TF Lite's converter do. A ZeroPadding2D that alone
 * feeds a 'valid' DepthwiseConv2D becomes that conv's explicit pads. Everything else runs its
 * layer's own `call`, and intermediates are freed after their last consumer. Outputs equal
 * `model.predict(x)` within float32 rounding. The model and what it saves are unchanged.
 *
 * The folded weights are those of the model when the plan is built: build a new plan after the
 * weights change (training, `setWeights`), and dispose it when done. Models with more than one
 * input or output, or with masking, get a plan that is `model.predict` itself (`fusedConvs: 0`).
 *
 * @example
 * const plan = inferencePlan(model);
 * try {
 *   const logits = plan.predict(images); // [N, classes], as model.predict(images)
 * } finally {
 *   plan.dispose();
 * }
 */
export function inferencePlan(model: tf.LayersModel): InferencePlan {
  const graph = graphOf(model);
  if (graph === null || graph.inputs.length !== 1 || graph.outputs.length !== 1 || !canWalk(model)) {
    return {
      predict: (x) => model.predict(x, { batchSize: Math.max(1, x.shape[0] ?? 1) }) as tf.Tensor,
      fusedConvs: 0,
      dispose: () => {},
    };
  }
  const compiled = compile(graph);
  return {
    predict: (x) => {
      checkInput(model, x);
      return tf.tidy(() => runCompiled(compiled, [x])[0]!);
    },
    fusedConvs: countFused(compiled),
    dispose: () => disposeCompiled(compiled),
  };
}
