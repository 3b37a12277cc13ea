import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { fileSystem } from '../io/fileSystem.js';
import { modelArtifacts } from '../io/modelArtifacts.js';
import { checkQuantizeOptions, quantizeArtifacts, type QuantizeDtype, type QuantizeReport, UINT8_FLOAT16_WEIGHTS } from '../io/quantize.js';
import { checkOptions } from '../options/check.js';
import { tf } from '../tf.js';

/** Options of {@link exportTfjs}. */
export interface ExportTfjsOptions {
  /** Weight storage: 'float16', 'uint8', or absent for plain float32. */
  quantize?: QuantizeDtype;
  /** With 'uint8': weight-name patterns kept in float16. Default {@link UINT8_FLOAT16_WEIGHTS}. */
  float16Weights?: readonly string[];
}

/** What {@link exportTfjs} wrote. */
export interface ExportTfjsResult {
  /** The directory holding model.json. */
  out: string;
  /** 'float32' when no quantization was asked for. */
  dtype: QuantizeDtype | 'float32';
  /** Bytes on disk: model.json and the weight files it lists. */
  modelJsonBytes: number;
  weightBytes: number;
  /** The same weights' size in float32. */
  float32WeightBytes: number;
  /** Weight names by storage. */
  report: QuantizeReport;
}

const MODEL_JSON = 'model.json';
const modelJsonOf = (p: string) => path.resolve(p.endsWith('.json') ? p : path.join(p, MODEL_JSON));

/** The same artifacts with every weight stored plainly (dequantized if it was quantized). */
async function plainArtifacts(artifacts: tf.io.ModelArtifacts): Promise<{ artifacts: tf.io.ModelArtifacts; report: QuantizeReport }> {
  const specs = artifacts.weightSpecs ?? [];
  const decoded = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
  try {
    const { data, specs: plain } = await tf.io.encodeWeights(specs.map((s) => ({ name: s.name, tensor: decoded[s.name] })));
    const bytes = tf.io.CompositeArrayBuffer.join(data);
    const withGroups = plain.map((p, i) => ({ ...p, ...(specs[i].group && { group: specs[i].group }) }));
    const report = { float16: [], uint8: [], kept: specs.map((s) => s.name), bytesBefore: bytes.byteLength, bytesAfter: bytes.byteLength };
    return { artifacts: { ...artifacts, weightSpecs: withGroups, weightData: bytes }, report };
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

async function fileSize(file: string): Promise<number> {
  return (await fs.stat(file)).size;
}

/**
 * Writes a TF.js LayersModel directory (`model.json` + weights) from a model or from a saved
 * model directory, optionally with quantized weights in TF.js's standard manifest: float16
 * (half the bytes) or affine uint8 per tensor (a quarter; BatchNorm's moving statistics stay
 * float16 unless `float16Weights` says otherwise). Stock `tf.loadLayersModel` loads the result with no
 * library import, dequantizing as it loads; topology and `userDefinedMetadata` (class names,
 * normalization) are copied unchanged. This is `mobilenetv2 export --format tfjs`.
 *
 * The source is never modified: `out` must be another directory. Writes are atomic.
 *
 * @param model - a `tf.LayersModel`, or a directory (or model .json file) saved by this library or any TF.js tool.
 * @param out - the directory to write (created if needed), or a model .json file path.
 * @param options - `quantize` (default: none, float32) and `float16Weights` for uint8.
 * @returns sizes on disk and which weight went where.
 * @throws InputError for an unreadable source, `out` equal to the source or a file, or bad options.
 * @example
 * const r = await exportTfjs('runs/digits', 'web/digits-uint8', { quantize: 'uint8' });
 * console.log(`${r.weightBytes} bytes, ${(100 * r.weightBytes / r.float32WeightBytes).toFixed(0)}% of float32`);
 * // In a page: const model = await tf.loadLayersModel('digits-uint8/model.json');
 */
export async function exportTfjs(model: tf.LayersModel | string, out: string, options: ExportTfjsOptions = {}): Promise<ExportTfjsResult> {
  checkOptions(options, ['quantize', 'float16Weights'], 'exportTfjs');
  if (options.quantize !== undefined) checkQuantizeOptions({ quantize: options.quantize, float16Weights: options.float16Weights });
  else if (options.float16Weights !== undefined) throw new InputError("exportTfjs: float16Weights goes with quantize: 'uint8' (without quantize every weight stays float32)");
  if (typeof out !== 'string' || out.trim() === '') throw new InputError('exportTfjs: out must be a directory path');
  if (typeof model === 'string' && modelJsonOf(model) === modelJsonOf(out)) {
    throw new InputError(`exportTfjs: out '${out}' is the source model's own directory; write the export to another directory`);
  }
  const outStat = await fs.stat(out).catch(() => null);
  if (outStat?.isFile() && !out.endsWith('.json')) throw new InputError(`exportTfjs: out '${out}' is a file; expected a directory for model.json and its weights`);

  const source = typeof model === 'string' ? await fileSystem(model).load!() : await modelArtifacts(model);
  const { artifacts, report } = options.quantize === undefined
    ? await plainArtifacts(source)
    : await quantizeArtifacts(source, { quantize: options.quantize, float16Weights: options.float16Weights ?? UINT8_FLOAT16_WEIGHTS });
  await fileSystem(out).save!(artifacts);

  const modelJson = modelJsonOf(out);
  const saved = JSON.parse(await fs.readFile(modelJson, 'utf8')) as tf.io.ModelJSON;
  const dir = path.dirname(modelJson);
  const weightFiles = (saved.weightsManifest ?? []).flatMap((g) => g.paths.map((p) => path.join(dir, p)));
  const sizes = await Promise.all(weightFiles.map(fileSize));
  return {
    out: dir,
    dtype: options.quantize ?? 'float32',
    modelJsonBytes: await fileSize(modelJson),
    weightBytes: sizes.reduce((a, b) => a + b, 0),
    float32WeightBytes: report.bytesBefore,
    report,
  };
}
