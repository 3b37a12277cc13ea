import path from 'node:path';
import { InputError } from '../errors.js';
import { exportTfjs } from '../export/tfjs.js';
import { QUANTIZE_DTYPES, type QuantizeDtype } from '../io/quantize.js';
import type { Logger } from '../logger.js';
import type { FlagSpecs, FlagValues } from './args.js';

/** `--quantize` of the training commands. */
export const QUANTIZE_FLAG: FlagSpecs = {
  quantize: {
    type: 'string', value: 'float16|uint8', multiple: true,
    help: 'also write the best model with float16 or uint8 weights to OUT/quantized-<dtype>/ (repeatable)',
  },
};

/** The directory a run's quantized copy goes to: beside model.json, which stays the float32 answer. */
export const quantizedDir = (out: string, dtype: QuantizeDtype) => path.join(out, `quantized-${dtype}`);

/** The `--quantize` values, checked and without repeats. */
export function quantizeFlag(flags: FlagValues): QuantizeDtype[] {
  const raw = flags.quantize;
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
  for (const v of values) {
    if (!QUANTIZE_DTYPES.includes(v as QuantizeDtype)) {
      throw new InputError(`--quantize must be one of ${QUANTIZE_DTYPES.join(', ')}; received ${JSON.stringify(v)}`);
    }
  }
  return [...new Set(values as QuantizeDtype[])];
}

/** One quantized copy, as the `--json` line reports it. */
export interface QuantizedCopy {
  dtype: QuantizeDtype;
  dir: string;
  weightBytes: number;
  float32WeightBytes: number;
}

/** Writes `out/quantized-<dtype>/` from the run's saved best model, one per dtype, and logs each size. */
export async function writeQuantizedCopies(out: string, dtypes: readonly QuantizeDtype[], logger: Logger): Promise<QuantizedCopy[]> {
  const copies: QuantizedCopy[] = [];
  for (const dtype of dtypes) {
    const r = await exportTfjs(out, quantizedDir(out, dtype), { quantize: dtype });
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    logger.info(`saved ${r.out}/model.json with ${dtype} weights: ${kib(r.weightBytes)}, ${(100 * r.weightBytes / r.float32WeightBytes).toFixed(1)}% of float32's ${kib(r.float32WeightBytes)}`);
    copies.push({ dtype, dir: r.out, weightBytes: r.weightBytes, float32WeightBytes: r.float32WeightBytes });
  }
  return copies;
}
