import { tf } from '../tf.js';
import { batchNormTraining, isChannelsLastBatchNorm, isPlainConv2D, isRelu6Activation, plainConv2D, relu6KeepingOutput, trainingOpsAvailable } from './trainingOps.js';

/** The parts of tfjs-layers' functional graph that a forward pass walks (public fields of `Container`, untyped in its .d.ts). */
interface GraphNode {
  outboundLayer: tf.layers.Layer;
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}
interface Graph {
  inputs: tf.SymbolicTensor[];
  outputs: tf.SymbolicTensor[];
  nodesByDepth: Record<string, GraphNode[]>;
}

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

function isGraph(layer: unknown): layer is tf.LayersModel & Graph {
  return typeof layer === 'object' && layer !== null && 'nodesByDepth' in layer && 'outputs' in layer;
}

function graphOf(layer: tf.layers.Layer): Graph | null {
  // A Sequential keeps its layers in an inner functional model.
  const inner = (layer as unknown as { model?: unknown }).model;
  if (layer instanceof tf.Sequential && isGraph(inner)) return inner;
  return isGraph(layer) ? layer : null;
}

/** Whether {@link applyModel} can walk `model`: functional and Sequential graphs without masking. */
export function canApply(model: tf.LayersModel): boolean {
  const graph = graphOf(model);
  if (graph === null) return false;
  return Object.values(graph.nodesByDepth).flat().every(({ outboundLayer: layer }) => {
    const masks = layer.getClassName() === 'Masking' || (layer as { maskZero?: boolean }).maskZero === true;
    return !masks && (graphOf(layer) === null || canApply(layer as tf.LayersModel));
  });
}

type Options = Required<ApplyOptions> & { leanOps: boolean };

function callLayer(layer: tf.layers.Layer, args: tf.Tensor[], node: GraphNode, training: boolean, options: Options): tf.Tensor[] {
  const inner = graphOf(layer);
  if (inner !== null) return run(inner, args, { ...options, training });
  if (training && options.leanOps && args.length === 1) {
    if (isRelu6Activation(layer)) return [relu6KeepingOutput(args[0]!)];
    if (isChannelsLastBatchNorm(layer, args[0]!.rank)) return [batchNormTraining(layer, args[0]!)];
    if (isPlainConv2D(layer) && args[0]!.rank === 4) return [plainConv2D(layer, args[0]!)];
  }
  return [layer.call(args.length === 1 ? args[0]! : args, { ...node.callArgs, training })].flat() as tf.Tensor[];
}

function run(graph: Graph, inputs: tf.Tensor[], options: Options): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  const pending = new Map<number, number>();
  const nodes = Object.keys(graph.nodesByDepth).map(Number).sort((a, b) => b - a).flatMap((d) => graph.nodesByDepth[d]!);
  for (const node of nodes) for (const t of node.inputTensors) pending.set(t.id, (pending.get(t.id) ?? 0) + 1);
  const kept = new Set<number>([...graph.inputs, ...graph.outputs].map((t) => t.id));
  graph.inputs.forEach((t, i) => values.set(t.id, inputs[i]!));

  for (const node of nodes) {
    const layer = node.outboundLayer;
    if (node.inputTensors.length === 0) continue; // an InputLayer
    const args = node.inputTensors.map((t) => {
      const value = values.get(t.id);
      if (value === undefined) throw new Error(`applyModel: ${layer.name} runs before its input ${t.name}`);
      return value;
    });
    const frozenBn = options.freezeBatchNormStats && !layer.trainable && layer.getClassName() === 'BatchNormalization';
    const training = options.training && !frozenBn;
    const outputs = callLayer(layer, args, node, training, options);
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]!));
    // Unlike tfjs-layers' executor, this frees intermediates in training too: the gradient tape
    // holds its own references to what each gradient needs, so an activation that no gradient
    // saved (BatchNorm's output before ReLU6, a padded copy's source, ...) is released as soon as
    // its last consumer has run instead of living until the end of the forward pass.
    for (const t of node.inputTensors) {
      const left = pending.get(t.id)! - 1;
      pending.set(t.id, left);
      if (left === 0 && !kept.has(t.id)) {
        const value = values.get(t.id)!;
        values.delete(t.id);
        // A layer may pass its input through unchanged (Dropout in inference returns it).
        if (![...values.values()].includes(value)) value.dispose();
      }
    }
  }
  return graph.outputs.map((t) => {
    const value = values.get(t.id);
    if (value === undefined) throw new Error(`applyModel: output ${t.name} was not computed`);
    return value;
  });
}

/**
 * Runs `model` on `x` like `model.apply(x, { training })`, with two differences that matter for
 * training: intermediate activations are released as soon as their last consumer has run
 * (tfjs-layers does this only in inference), and frozen BatchNormalization layers run in
 * inference mode without patching their `call`. On wasm and cpu, training-mode ReLU6 and
 * BatchNormalization run as the ops of `trainingOps.ts`, which keep fewer tensors for the
 * gradient. Stock layers only; the model is unchanged.
 * Models with masking fall back to `model.apply` (see {@link canApply}).
 *
 * @example
 * const logits = applyModel(model, x, { training: true }) as tf.Tensor2D;
 */
export function applyModel(model: tf.LayersModel, x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor {
  const resolved = {
    training: options.training ?? false, freezeBatchNormStats: options.freezeBatchNormStats ?? true, leanOps: trainingOpsAvailable(),
  };
  const graph = graphOf(model);
  if (graph === null || graph.inputs.length !== 1 || graph.outputs.length !== 1 || !canApply(model)) {
    return model.apply(x, { training: resolved.training }) as tf.Tensor;
  }
  return run(graph, [x], resolved)[0]!;
}
