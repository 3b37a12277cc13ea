import { InputError } from '../errors.js';
import { collapsePrefix, type Graph, type GraphNode, graphOf, orderedNodes, walkable, walkGraph } from '../layers/graph.js';
import { type ConvUnit, convUnits, runArchitecture } from '../models/architecture.js';
import { architectureOf, architecturePrefix } from '../models/architectureOf.js';
import { bindArchitecture, type BoundArchitecture, type BoundUnit } from '../models/boundArchitecture.js';
import { tf } from '../tf.js';

/** A model's forward pass in inference mode, with each BatchNormalization folded into the conv before it. */
export interface InferencePlan {
  /**
   * The model's output for `x` (one forward pass over the whole batch, like `model.apply`), equal
   * to `model.predict(x)` within float32 rounding. Leaves only the returned tensor.
   */
  predict(x: tf.Tensor): tf.Tensor;
  /** Convs that run fused with their BatchNormalization: 0 when the model is not a MobileNetV2 of this library. */
  readonly fusedConvs: number;
  /** Disposes the folded weights; the model is untouched. */
  dispose(): void;
}

/** A conv unit as one fused conv: BatchNorm folded into filter and bias, ReLU6 fused. */
export interface FoldedConv {
  /** [kh, kw, in, out] (dense) or [kh, kw, channels, 1] (depthwise), the conv's layout. */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}

/**
 * The unit's filter and bias with its BatchNorm folded in. Inference-mode BatchNorm is the
 * affine map y = (x − mean)·s + β with s = γ/√(var + ε) per channel, so conv-then-BN is the
 * conv with filter w·s (per output channel) and bias β − mean·s. Reads the current weights.
 *
 * @example
 * const { filter, bias } = foldBatchNorm(bindArchitecture(model, arch).unit(arch.stem));
 */
export function foldBatchNorm(bound: BoundUnit): FoldedConv {
  return tf.tidy(() => {
    const { kernel, bn } = bound;
    const scale = tf.mul(tf.rsqrt(tf.add(bn.movingVariance.read(), bn.epsilon)), bn.gamma.read()) as tf.Tensor1D;
    // A depthwise filter is [kh, kw, channels, 1]: the scale runs along its third axis.
    const k = kernel.read() as tf.Tensor4D;
    const filter = tf.mul(k, bound.unit.op === 'depthwise' ? tf.reshape(scale, [k.shape[2], 1]) : scale) as tf.Tensor4D;
    const bias = tf.sub(bn.beta.read(), tf.mul(bn.movingMean.read(), scale)) as tf.Tensor1D;
    return { filter: tf.keep(filter), bias: tf.keep(bias) };
  });
}

interface Runner {
  run(x: tf.Tensor): tf.Tensor;
  fusedConvs: number;
  dispose(): void;
}

/** A MobileNetV2 of this library, from its description: every conv unit one fused conv. */
function mobileNetV2Runner(bound: BoundArchitecture): Runner {
  const folded = new Map<ConvUnit, FoldedConv>();
  const dispose = () => folded.forEach((f) => tf.dispose([f.filter, f.bias]));
  try {
    for (const unit of convUnits(bound.arch)) folded.set(unit, foldBatchNorm(bound.unit(unit)));
  } catch (error) {
    dispose();
    throw error;
  }
  const unit = (u: ConvUnit, x: tf.Tensor): tf.Tensor => {
    const { filter, bias } = folded.get(u)!;
    const activation = u.activation;
    const p = u.padding;
    if (u.op === 'depthwise') {
      // The ZeroPadding2D before a strided depthwise conv becomes the conv's explicit pads: the
      // stock wasm depthwise kernel takes them at multiplier 1 (the fused op's typings list only
      // 'same', 'valid' and a number, though computeConv2DInfo reads explicit pads).
      const pad = u.layerPadding === 'explicit' ? [[0, 0], [p, p], [p, p], [0, 0]] : u.layerPadding;
      return tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter, strides: u.stride, pad: pad as 'valid', bias, activation });
    }
    // A dense conv keeps its ZeroPadding2D: an explicitly padded Conv2D would move the 3-channel
    // stem from XNNPACK to this library's slower kernel (see dispatch.ts).
    const input = u.layerPadding === 'explicit' ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const y = tf.fused.conv2d({ x: input as tf.Tensor4D, filter, strides: u.stride, pad: u.layerPadding === 'same' ? 'same' : 'valid', bias, activation });
    if (input !== x) input.dispose();
    return y;
  };
  const call = (name: string, x: tf.Tensor) => bound.layer(name).call(x, { training: false }) as tf.Tensor;
  return {
    run: (x) => runArchitecture(bound.arch, x, {
      unit,
      add: (_, a, b) => tf.add(a, b),
      head: (head, features) => {
        if (head.kind === 'none') return features;
        const pooled = call(head.layers.pool, features);
        if (head.kind === 'pool') return pooled;
        // Dropout is the identity in inference.
        const logits = call(head.layers.classifier, pooled);
        pooled.dispose();
        return logits;
      },
      release: (t) => t.dispose(),
    }),
    fusedConvs: folded.size,
    dispose,
  };
}

/**
 * Any other walkable model: its layers' own calls, with a MobileNetV2 of this library folded
 * where it is nested as a layer or where the graph starts with one (a Sequential flattens a
 * model that is its first layer into its own graph).
 */
function graphRunner(graph: Graph): Runner {
  const nested = new Map<tf.layers.Layer, Runner>();
  let nodes = orderedNodes(graph);
  let prefix: { step: GraphNode; runner: Runner } | null = null;
  const dispose = () => {
    nested.forEach((r) => r.dispose());
    prefix?.runner.dispose();
  };
  try {
        const start = architecturePrefix(graph);
    const collapsed = start && collapsePrefix(graph, nodes, start.layers, start.output);
    if (start && collapsed) {
      nodes = collapsed.nodes;
      prefix = { step: collapsed.prefix, runner: mobileNetV2Runner(bindArchitecture(graph, start.arch)) };
    }
    for (const { outboundLayer: layer } of nodes) {
      const inner = graphOf(layer);
      if (inner !== null && !nested.has(layer)) nested.set(layer, runnerFor(layer as tf.LayersModel, inner));
    }
  } catch (error) {
    dispose();
    throw error;
  }
  return {
    run: (x) => walkGraph(graph, nodes, [x], (node, args) => {
      if (node === prefix?.step) return [prefix.runner.run(args[0]!)];
      const inner = nested.get(node.outboundLayer);
      if (inner) return [inner.run(args[0]!)];
      return [node.outboundLayer.call(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: false })].flat() as tf.Tensor[];
    })[0]!,
    fusedConvs: [...nested.values(), ...(prefix ? [prefix.runner] : [])].reduce((n, r) => n + r.fusedConvs, 0),
    dispose,
  };
}

function runnerFor(model: tf.LayersModel, graph: Graph): Runner {
  const arch = architectureOf(model);
  return arch ? mobileNetV2Runner(bindArchitecture(model, arch)) : graphRunner(graph);
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
 * An inference plan for `model`: the same forward pass as `model.predict`, in inference mode.
 * A MobileNetV2 of this library (see `architectureOf`; also when nested in another model) runs
 * from its architecture description with every conv unit as one conv whose filter and bias have
 * the BatchNorm folded in and its ReLU6 fused, as `torch.ao.quantization.fuse_modules` and TF
 * Lite's converter do; the zero padding of a strided depthwise conv becomes the conv's explicit
 * pads. Other functional and Sequential models run their layers' own calls, freeing
 * intermediates after their last consumer. Outputs equal `model.predict(x)` within float32
 * rounding. The model and what it saves are unchanged.
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
  const graph = walkable(model);
  if (graph === null) {
    return {
      predict: (x) => model.predict(x, { batchSize: Math.max(1, x.shape[0] ?? 1) }) as tf.Tensor,
      fusedConvs: 0,
      dispose: () => {},
    };
  }
  const runner = runnerFor(model, graph);
  return {
    predict: (x) => {
      checkInput(model, x);
      return tf.tidy(() => runner.run(x));
    },
    fusedConvs: runner.fusedConvs,
    dispose: () => runner.dispose(),
  };
}
