import { collapsePrefix, type Graph, type GraphNode, graphOf, orderedNodes, walkGraph, walkable } from '../layers/graph.js';
import { runArchitecture, type ConvUnit } from '../models/architecture.js';
import { architectureOf, architecturePrefix } from '../models/architectureOf.js';
import { bindArchitecture, type BoundArchitecture } from '../models/boundArchitecture.js';
import { tf } from '../tf.js';
import { batchNormTraining, plainConv2D, relu6KeepingOutput, trainingOpsAvailable } from './trainingOps.js';

/** Options of {@link applyModel}. */
export interface ApplyOptions {
  /** Dropout on, BatchNormalization on batch statistics (updating its moving averages). Default false. */
  training?: boolean;
  /**
   * With `training`, run BatchNormalization layers whose `trainable` is false in inference mode,
   * so their moving statistics stay frozen (Keras 2's behaviour). Default true.
   */
  freezeBatchNormStats?: boolean;
}

type Options = Required<ApplyOptions> & { leanOps: boolean };

const call = (layer: tf.layers.Layer, x: tf.Tensor | tf.Tensor[], training: boolean, args: Record<string, unknown> = {}) =>
  layer.call(x, { ...args, training }) as tf.Tensor | tf.Tensor[];

/** Whether a BatchNormalization layer normalizes with batch statistics in this pass. */
const batchStatistics = (layer: tf.layers.Layer, options: Options) =>
  options.training && !(options.freezeBatchNormStats && !layer.trainable);

/**
 * A MobileNetV2 of this library's forward pass, unit by unit from its description. In training
 * on the backends with this library's kernels, a dense conv runs the plain Conv2D kernel, a
 * BatchNorm on batch statistics one kernel pair, and ReLU6 keeps only its output for the
 * gradient (see trainingOps.ts); everything else is the layer's own `call`.
 */
function runMobileNetV2(bound: BoundArchitecture, x: tf.Tensor, options: Options): tf.Tensor {
  const lean = options.training && options.leanOps;
  const unit = (u: ConvUnit, input: tf.Tensor): tf.Tensor => {
    const layers = bound.unit(u);
    let y = layers.pad ? (call(layers.pad, input, options.training) as tf.Tensor) : input;
    const conv = lean && u.op === 'conv'
      ? plainConv2D(y, layers.kernel, u.stride, u.layerPadding === 'same' ? 'same' : 'valid')
      : (call(layers.conv, y, options.training) as tf.Tensor);
    if (y !== input) y.dispose();
    const bnTrains = batchStatistics(layers.bn.layer, options);
    y = lean && bnTrains ? batchNormTraining(layers.bn, conv) : (call(layers.bn.layer, conv, bnTrains) as tf.Tensor);
    conv.dispose();
    if (!layers.act) return y;
    const out = lean ? relu6KeepingOutput(y) : (call(layers.act, y, options.training) as tf.Tensor);
    y.dispose();
    return out;
  };
  return runArchitecture(bound.arch, x, {
    unit,
    add: (block, a, b) => call(bound.layer(block.shortcut!.layer), [a, b], options.training) as tf.Tensor,
    head: (head, features) => {
      if (head.kind === 'none') return features;
      const pooled = call(bound.layer(head.layers.pool), features, options.training) as tf.Tensor;
      if (head.kind === 'pool') return pooled;
      const dropped = call(bound.layer(head.layers.dropout), pooled, options.training) as tf.Tensor;
      if (dropped !== pooled) pooled.dispose();
      const logits = call(bound.layer(head.layers.classifier), dropped, options.training) as tf.Tensor;
      dropped.dispose();
      return logits;
    },
    // Unlike tfjs-layers' executor, this frees intermediates in training too: the tape keeps its
    // own copies of what each gradient needs.
    release: (t) => t.dispose(),
  });
}

interface Walk {
  nodes: GraphNode[];
  /** A MobileNetV2 of this library that the graph starts with, run as one node. */
  prefix: { step: GraphNode; bound: BoundArchitecture } | null;
}

const walks = new WeakMap<Graph, Walk>();

function walkOf(graph: Graph): Walk {
  let walk = walks.get(graph);
  if (walk) return walk;
  const nodes = orderedNodes(graph);
    const start = architecturePrefix(graph);
  const collapsed = start && collapsePrefix(graph, nodes, start.layers, start.output);
  walk = collapsed
    ? { nodes: collapsed.nodes, prefix: { step: collapsed.prefix, bound: bindArchitecture(graph, start!.arch) } }
    : { nodes, prefix: null };
  walks.set(graph, walk);
  return walk;
}

/**
 * Any other model, layer by layer through the generic graph walker: frozen BatchNormalization
 * layers in inference mode, nested models recursed into, and a MobileNetV2 of this library
 * (nested, or at the start of the graph as a Sequential flattens it) run as above.
 */
function runGraph(graph: Graph, inputs: tf.Tensor[], options: Options): tf.Tensor[] {
  const { nodes, prefix } = walkOf(graph);
  return walkGraph(graph, nodes, inputs, (node: GraphNode, args) => {
    if (node === prefix?.step) return [runMobileNetV2(prefix.bound, args[0]!, options)];
    const layer = node.outboundLayer;
    const inner = graphOf(layer);
    if (inner !== null) return applyLayers(layer as tf.LayersModel, inner, args, options);
    const training = layer.getClassName() === 'BatchNormalization' ? batchStatistics(layer, options) : options.training;
    return [call(layer, args.length === 1 ? args[0]! : args, training, node.callArgs)].flat();
  });
}

function applyLayers(model: tf.LayersModel, graph: Graph, inputs: tf.Tensor[], options: Options): tf.Tensor[] {
  const arch = architectureOf(model);
  if (arch !== null && inputs.length === 1) return [runMobileNetV2(bindArchitecture(model, arch), inputs[0]!, options)];
  return runGraph(graph, inputs, options);
}

/**
 * Runs `model` on `x` like `model.apply(x, { training })`, with two differences that matter for
 * training: intermediate activations are released as soon as their last consumer has run
 * (tfjs-layers does this only in inference), and frozen BatchNormalization layers run in
 * inference mode without patching their `call`. A MobileNetV2 of this library runs from its
 * architecture description, with the leaner training ops of `trainingOps.ts` on wasm and cpu;
 * other functional and Sequential models go through the generic graph walker; models with
 * masking, or several inputs or outputs, fall back to `model.apply`. The model is unchanged.
 *
 * @example
 * const logits = applyModel(model, x, { training: true }) as tf.Tensor2D;
 */
export function applyModel(model: tf.LayersModel, x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor {
  const resolved: Options = {
    training: options.training ?? false, freezeBatchNormStats: options.freezeBatchNormStats ?? true, leanOps: trainingOpsAvailable(),
  };
  const graph = walkable(model);
  if (graph === null) return model.apply(x, { training: resolved.training }) as tf.Tensor;
  return applyLayers(model, graph, [x], resolved)[0]!;
}
