import type { Dataset } from '../data/dataset.js';
import { InputError } from '../errors.js';
import { type Graph, type GraphNode, graphOf, orderedNodes, walkable, walkGraph } from '../layers/graph.js';
import { checkInt, checkOptions, keysOf } from '../options/check.js';
import { tf } from '../tf.js';
import { permutation, seededRandom } from './random.js';
import { channelMoments } from './trainingOps.js';

/** Options of {@link recalibrateBatchNorm}. */
export interface RecalibrateBatchNormOptions {
  /**
   * Images per forward pass. Batch statistics depend on the batch, so use the size the layers
   * trained with (per replica with data-parallel workers). Default 32.
   */
  batchSize?: number;
  /** Seeds the order in which the images are grouped into batches. Default 0. */
  seed?: number;
  /**
   * Leave BatchNormalization layers whose `trainable` is false as they are, and run them in
   * inference mode, as training does with the same option. Default true.
   */
  freezeBatchNormStats?: boolean;
}

const OPTION_NAMES = keysOf<RecalibrateBatchNormOptions>()({ batchSize: true, seed: true, freezeBatchNormStats: true });

export interface RecalibrateBatchNormResult {
  /** BatchNormalization layers whose moving statistics were replaced. */
  layers: number;
  /** Images the statistics were computed over. */
  images: number;
}

/** A BatchNormalization layer's parts, read through its config and `weights` (gamma and beta first when present, then moving mean and variance). */
interface BatchNormParts {
  axis: number;
  epsilon: number;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

function partsOf(layer: tf.layers.Layer): BatchNormParts {
  const config = layer.getConfig() as { axis?: number; epsilon?: number; center?: boolean; scale?: boolean };
  const weights = layer.weights;
  const [gamma, beta] = [config.scale !== false, config.center !== false];
  const expected = Number(gamma) + Number(beta) + 2;
  if (weights.length !== expected) throw new Error(`recalibrateBatchNorm: ${layer.name} has ${weights.length} weights; expected ${expected}`);
  return {
    axis: config.axis ?? -1,
    epsilon: config.epsilon ?? 1e-3,
    ...(gamma && { gamma: weights[0]! }),
    ...(beta && { beta: weights[Number(gamma)]! }),
    movingMean: weights.at(-2)!,
    movingVariance: weights.at(-1)!,
  };
}

/**
 * Exact population statistics of one layer's input, merged batch by batch in float64 (Chan et
 * al.'s pairwise update), so that the result is the mean and variance over every value of the
 * pass however the batches split it: not an exponential average.
 */
class Population {
  count = 0;
  mean: Float64Array;
  m2: Float64Array;

  constructor(channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  add(n: number, mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    const total = this.count + n;
    for (let c = 0; c < this.mean.length; c++) {
      const delta = mean[c]! - this.mean[c]!;
      this.mean[c]! += (delta * n) / total;
      this.m2[c]! += variance[c]! * n + (delta * delta * this.count * n) / total;
    }
    this.count = total;
  }

  /** The biased (population) variance, as BatchNormalization's batch variance in TF.js. */
  variance(): Float32Array {
    return Float32Array.from(this.m2, (m) => m / this.count);
  }
}

interface Measured {
  layer: tf.layers.Layer;
  n: number;
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * Training-mode BatchNormalization on the batch's statistics, as the layer computes it, without
 * touching its moving averages: [y, per-channel mean, per-channel biased variance].
 */
function normalizeWithBatchStatistics(parts: BatchNormParts, x: tf.Tensor): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const axis = parts.axis < 0 ? x.rank + parts.axis : parts.axis;
  if (axis === x.rank - 1) {
    // Channels last: one pass for the statistics and the fused kernel, as in training.
    const { mean, variance } = channelMoments(x);
    const y = tf.batchNorm(x, mean, variance, parts.beta?.read(), parts.gamma?.read(), parts.epsilon);
    return [y, mean as tf.Tensor1D, variance as tf.Tensor1D];
  }
  const reduce = Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== axis);
  const shape = x.shape.map((d, i) => (i === axis ? d : 1));
  const { mean, variance } = tf.moments(x, reduce, true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, parts.epsilon)));
  if (parts.gamma) y = tf.mul(y, tf.reshape(parts.gamma.read(), shape));
  if (parts.beta) y = tf.add(y, tf.reshape(parts.beta.read(), shape));
  return [y, tf.reshape(mean, [-1]), tf.reshape(variance, [-1])];
}

/**
 * Precise BatchNorm (BN recalibration): re-estimates the moving mean and variance of the model's
 * BatchNormalization layers from one pass over `data` and writes them to the layers.
 *
 * Each BatchNorm layer runs in training mode (normalizing with its batch's statistics, as when
 * the weights were learned) while the statistics of its input are accumulated over the whole
 * pass as exact population means and variances (what PyTorch's `momentum=None` cumulative
 * average approximates; pycls and detectron2 call it precise BN). Everything else runs in
 * inference mode: no dropout, and no augmentation (`augment: false` batches). Images are grouped
 * into batches in a seeded random order, so a folder sorted by class does not give one-class
 * batches whose statistics training never saw.
 *
 * Why: the moving averages are an exponential average (weight 1 − momentum per step, 0.1 by
 * default) of statistics of weights that kept changing; after a short run they are far from what
 * the final weights produce (and still partly their initial 0/1), so evaluation, which uses them,
 * can predict one class for everything while training-mode accuracy is high.
 *
 * With `freezeBatchNormStats` (default) frozen layers are left unchanged and run in inference
 * mode. Only the moving statistics change; no tensors are left behind.
 *
 * @example
 * await recalibrateBatchNorm(model, trainData, { batchSize: 32 });
 * const { accuracy } = await evaluate(model, validationData);
 */
export async function recalibrateBatchNorm(model: tf.LayersModel, data: Dataset, options: RecalibrateBatchNormOptions = {}): Promise<RecalibrateBatchNormResult> {
  checkOptions(options, OPTION_NAMES, 'recalibrateBatchNorm');
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, { min: 1 });
  const seed = checkInt('seed', options.seed ?? 0, { min: 0 });
  const freeze = options.freezeBatchNormStats ?? true;
  const graph = walkable(model);
  if (graph === null) {
    throw new InputError(`recalibrateBatchNorm: ${model.name} must be a functional or Sequential model with one input and one output, without masking`);
  }
  const targets = new Map<tf.layers.Layer, BatchNormParts>();
  const collect = (g: Graph) => {
    for (const { outboundLayer: layer } of orderedNodes(g)) {
      const inner = graphOf(layer);
      if (inner !== null) collect(inner);
      else if (layer.getClassName() === 'BatchNormalization' && (layer.trainable || !freeze)) targets.set(layer, partsOf(layer));
    }
  };
  collect(graph);
  if (targets.size === 0 || data.length === 0) return { layers: 0, images: 0 };

  const populations = new Map<tf.layers.Layer, Population>();
  const run = (g: Graph, inputs: tf.Tensor[], measured: Measured[]): tf.Tensor[] =>
    walkGraph(g, orderedNodes(g), inputs, (node: GraphNode, args) => {
      const layer = node.outboundLayer;
      const inner = graphOf(layer);
      if (inner !== null) return run(inner, args, measured);
      const parts = targets.get(layer);
      if (parts !== undefined && args.length === 1) {
        const x = args[0]!;
        const [y, mean, variance] = tf.tidy(() => normalizeWithBatchStatistics(parts, x));
        measured.push({ layer, n: x.size / mean.size, mean, variance });
        return [y];
      }
      // Inference mode: dropout off, and frozen BatchNorm on its moving statistics.
      return tf.tidy(() => [layer.call(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: false })].flat() as tf.Tensor[]);
    });

  const order = permutation(data.length, seededRandom(seed));
  let images = 0;
  for (let start = 0; start < data.length; start += batchSize) {
    const batch = await data.batch(order.subarray(start, Math.min(start + batchSize, data.length)), { augment: false });
    const measured: Measured[] = [];
    try {
      if (batch.x.shape[0] === 0) continue;
      tf.dispose(run(graph, [batch.x], measured));
      const values = await Promise.all(measured.map(async (m) => [await m.mean.data(), await m.variance.data()] as const));
      measured.forEach((m, i) => {
        let population = populations.get(m.layer);
        if (population === undefined) populations.set(m.layer, (population = new Population(m.mean.size)));
        population.add(m.n, values[i]![0], values[i]![1]);
      });
      images += batch.x.shape[0];
    } finally {
      tf.dispose([batch.x, batch.y, ...measured.flatMap((m) => [m.mean, m.variance])]);
    }
  }
  for (const [layer, population] of populations) {
    const parts = targets.get(layer)!;
    const mean = tf.tensor(Float32Array.from(population.mean), parts.movingMean.shape as number[]);
    const variance = tf.tensor(population.variance(), parts.movingVariance.shape as number[]);
    // The variables take over the values (assign shares the data); these handles go.
    parts.movingMean.write(mean);
    parts.movingVariance.write(variance);
    tf.dispose([mean, variance]);
  }
  return { layers: populations.size, images };
}
