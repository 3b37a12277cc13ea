import { checkOneOf, checkOptions } from '../options/check.js';
import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { encodeFloat16 } from './float16.js';
import { quantizeUint8 } from './uint8.js';

/** Storage of float32 weights: IEEE halves (½ the bytes) or affine uint8 per tensor (¼). */
export type QuantizeDtype = 'float16' | 'uint8';

export const QUANTIZE_DTYPES: readonly QuantizeDtype[] = ['float16', 'uint8'];

/**
 * The weights that `quantize: 'uint8'` stores as float16 by default: BatchNorm's moving means
 * and variances. BatchNorm computes (x − mean) / √(variance + ε), so both errors are scaled by
 * 1/σ of their channel, and one affine uint8 grid per tensor must cover channels whose σ differ
 * by orders of magnitude: a near-dead channel's variance lands on the grid's first level (its
 * scale changed 12.8× in one of the PyTorch fixtures) and its mean is off by many of its σ. As
 * float16 they cost one more byte per channel (0.5% of the float32 size each for MobileNetV2);
 * measured in docs/performance.md, "Quantized weights".
 */
export const UINT8_FLOAT16_WEIGHTS: readonly string[] = ['*/moving_mean', '*/moving_variance'];

/** Options of {@link quantizeArtifacts} and {@link quantizedHandler}. */
export interface QuantizeOptions {
  /** How float32 weights are stored. int32, bool and string weights are always kept as they are. */
  quantize: QuantizeDtype;
  /**
   * With `quantize: 'uint8'`: weight names stored as float16 instead, as glob patterns (`*` any
   * characters, `?` one), like tfjs-converter's `--quantize_float16` list (weight names are the
   * manifest's, e.g. `block_3_expand_BN/moving_variance`). `[]` puts every
   * float32 weight in uint8. Default {@link UINT8_FLOAT16_WEIGHTS}.
   */
  float16Weights?: readonly string[];
}

const OPTION_NAMES = ['quantize', 'float16Weights'] as const satisfies readonly (keyof QuantizeOptions)[];

function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * Checks {@link QuantizeOptions} (one {@link InputError} naming the bad field) and returns,
 * per weight name, the dtype a float32 weight of that name is stored in.
 */
export function checkQuantizeOptions(options: QuantizeOptions): (name: string) => QuantizeDtype {
  if (options === null || typeof options !== 'object') {
    throw new InputError(`quantize options must be an object like { quantize: 'float16' }; received ${received(options)}`);
  }
  checkOptions(options, OPTION_NAMES, 'quantize');
  const dtype = checkOneOf('quantize', options.quantize, QUANTIZE_DTYPES);
  const patterns = options.float16Weights ?? UINT8_FLOAT16_WEIGHTS;
  if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string' && p.length > 0)) {
    throw new InputError(`float16Weights must be an array of weight-name patterns such as '*/moving_variance'; received ${received(patterns)}`);
  }
  if (dtype === 'float16') return () => 'float16';
  const float16 = patterns.map(globRegExp);
  return (name) => (float16.some((re) => re.test(name)) ? 'float16' : 'uint8');
}

/** How a model's weights were stored, by {@link quantizeArtifacts}. */
export interface QuantizeReport {
  /** Weight names by storage; `kept` are the non-float32 weights, stored exactly as they were. */
  float16: string[];
  uint8: string[];
  kept: string[];
  /** Bytes of the weight data before (as float32) and after. */
  bytesBefore: number;
  bytesAfter: number;
}

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/**
 * Rewrites a model's saved weights (the `ModelArtifacts` a `model.save` handler receives) in
 * TF.js's standard quantized weights manifest: each float32 weight spec gets
 * `quantization: { dtype: 'float16' }` or `{ dtype: 'uint8', scale, min }`, and its bytes are
 * the halves or levels. Stock `tf.loadLayersModel` dequantizes them back to float32 on load,
 * in Node and in browsers, with nothing of this library loaded. Already quantized weights are
 * decoded first (so a float16 copy can be requantized); the topology and metadata are kept.
 * Pure arithmetic: runs in a page as in Node.
 *
 * @param artifacts - what `model.save` passes to an IOHandler, or what `handler.load()` returns.
 * @param options - `quantize` ('float16' | 'uint8') and, for uint8, `float16Weights` (default {@link UINT8_FLOAT16_WEIGHTS}).
 * @returns the new artifacts and which weight went where.
 * @throws InputError for bad options, a NaN/infinite weight, or a weight beyond float16's ±65504.
 * @example
 * const { artifacts } = await quantizeArtifacts(await fileSystem('runs/mnist').load(), { quantize: 'float16' });
 * await fileSystem('runs/mnist-f16').save(artifacts);
 */
export async function quantizeArtifacts(
  artifacts: tf.io.ModelArtifacts, options: QuantizeOptions,
): Promise<{ artifacts: tf.io.ModelArtifacts; report: QuantizeReport }> {
  const plan = checkQuantizeOptions(options);
  const specs = artifacts.weightSpecs ?? [];
  const decoded = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
  const report: QuantizeReport = { float16: [], uint8: [], kept: [], bytesBefore: 0, bytesAfter: 0 };
  try {
    const newSpecs: tf.io.WeightsManifestEntry[] = [];
    const chunks: Uint8Array[] = [];
    for (const spec of specs) {
      const { quantization: _old, ...plain } = spec;
      const tensor = decoded[spec.name];
      if (spec.dtype !== 'float32') {
        // int32 counters, bool masks and strings are not approximations of reals: keep them exact.
        const { data, specs: [kept] } = await tf.io.encodeWeights([{ name: spec.name, tensor }]);
        chunks.push(new Uint8Array(tf.io.CompositeArrayBuffer.join(data)));
        newSpecs.push({ ...plain, ...kept, ...(spec.group && { group: spec.group }) });
        report.kept.push(spec.name);
        report.bytesBefore += chunks[chunks.length - 1].byteLength;
        continue;
      }
      const values = tensor.dataSync() as Float32Array;
      report.bytesBefore += values.byteLength;
      if (plan(spec.name) === 'float16') {
        chunks.push(bytesOf(encodeFloat16(values, spec.name)));
        newSpecs.push({ ...plain, quantization: { dtype: 'float16' } });
        report.float16.push(spec.name);
      } else {
        const { data, scale, min } = quantizeUint8(values, spec.name);
        chunks.push(data);
        newSpecs.push({ ...plain, quantization: { dtype: 'uint8', scale, min } });
        report.uint8.push(spec.name);
      }
    }
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    const weightData = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      weightData.set(chunk, offset);
      offset += chunk.byteLength;
    }
    report.bytesAfter = total;
    return { artifacts: { ...artifacts, weightSpecs: newSpecs, weightData: weightData.buffer }, report };
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

/**
 * An IOHandler that quantizes what `model.save` hands it (see {@link quantizeArtifacts}) and
 * passes it on to `destination`: another handler, or a URL any TF.js save router takes
 * (`downloads://name` and `indexeddb://name` in a page; `file://` in Node, whose router this library registers).
 *
 * @example
 * // In a web page: download a float16 copy, half the size.
 * await model.save(quantizedHandler('downloads://digits', { quantize: 'float16' }));
 * // In Node:
 * await model.save(quantizedHandler(fileSystem('runs/mnist-uint8'), { quantize: 'uint8' }));
 */
export function quantizedHandler(destination: string | tf.io.IOHandler, options: QuantizeOptions): tf.io.IOHandler {
  checkQuantizeOptions(options);
  const target = typeof destination === 'string' ? saveHandlerFor(destination) : destination;
  if (target == null || typeof target.save !== 'function') {
    throw new InputError(`quantizedHandler: destination must be a URL or an IOHandler with save(); received ${received(destination)}`);
  }
  return {
    async save(artifacts) {
      const { artifacts: quantized } = await quantizeArtifacts(artifacts, options);
      return target.save!(quantized);
    },
  };
}

function saveHandlerFor(url: string): tf.io.IOHandler {
  const handlers = tf.io.getSaveHandlers(url);
  if (handlers.length === 0) {
    throw new InputError(`quantizedHandler: no TF.js save handler takes '${url}'; expected a URL such as 'downloads://name' or 'indexeddb://name', or an IOHandler`);
  }
  return handlers[0];
}
