import { canWalk, type Graph, type GraphNode, graphOf, orderedNodes, walkGraph } from '../layers/graph.js';
import { tf } from '../tf.js';
import { isChannelsLastBatchNorm } from '../layers/layerFields.js';
import { batchNormTraining, isPlainConv2D, isRelu6Activation, plainConv2D, relu6KeepingOutput, trainingOpsAvailable } from './trainingOps.js';

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
  return walkGraph(graph, orderedNodes(graph), inputs, (node, args) => {
    const layer = node.outboundLayer;
    const frozenBn = options.freezeBatchNormStats && !layer.trainable && layer.getClassName() === 'BatchNormalization';
    return callLayer(layer, args, node, options.training && !frozenBn, options);
  });
}

/**
 * Runs `model` on `x` like `model.apply(x, { training })`, with two differences that matter for
 * training: intermediate activations are released as soon as their last consumer has run
 * (tfjs-layers does this only in inference), and frozen BatchNormalization layers run in
 * inference mode without patching their `call`. On wasm and cpu, training-mode ReLU6 and
 * BatchNormalization run as the ops of `trainingOps.ts`, which keep fewer tensors for the
 * gradient. Stock layers only; the model is unchanged.
 * Models with masking fall back to `model.apply` (see `canWalk`).
 *
 * @example
 * const logits = applyModel(model, x, { training: true }) as tf.Tensor2D;
 */
export function applyModel(model: tf.LayersModel, x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor {
  const resolved = {
    training: options.training ?? false, freezeBatchNormStats: options.freezeBatchNormStats ?? true, leanOps: trainingOpsAvailable(),
  };
  const graph = graphOf(model);
  if (graph === null || graph.inputs.length !== 1 || graph.outputs.length !== 1 || !canWalk(model)) {
    return model.apply(x, { training: resolved.training }) as tf.Tensor;
  }
  return run(graph, [x], resolved)[0]!;
}
