import { architectureOf, requireArchitecture } from '../models/architectureOf.js';
import { checkOneOf, checkPositiveInt } from '../models/options.js';
import { type Logger, silentLogger } from '../logger.js';
import { tf } from '../tf.js';
import { defaultThreads, loadOnnxruntime, onnxSession, type OnnxSession } from './onnxruntime.js';

/**
 * What runs the forward passes of inference: 'tfjs' (the TF.js backend, through the inference
 * plan and worker threads), 'onnxruntime' (onnxruntime-node, an optional dependency, on an
 * in-memory ONNX export of the same model), or 'auto': onnxruntime when onnxruntime-node loads
 * and the model is a MobileNetV2 of this library (what `exportOnnx` takes), else tfjs.
 */
export type InferenceEngine = 'tfjs' | 'onnxruntime' | 'auto';

/** The engine options of the inference entry points (`predictBatches`, `classifyImages`, `embedImages`, `evaluate`). */
export interface EngineOptions {
  /** Which engine runs the forward passes. Default 'auto'. */
  engine?: InferenceEngine;
  /** onnxruntime's intra-op threads. Default: every core (`os.availableParallelism()`). */
  threads?: number;
  /** Told which engine ran (one info line). Default silent. */
  logger?: Logger;
}

export const ENGINES: readonly InferenceEngine[] = ['tfjs', 'onnxruntime', 'auto'];

/** The engine a run used: `describe` is e.g. "onnxruntime (onnxruntime-node 1.30.0, 2 threads)". */
export interface EngineChoice {
  engine: 'tfjs' | 'onnxruntime';
  describe: string;
  /** With 'onnxruntime': the model's session. */
  session?: OnnxSession;
}

/** Checks the engine options (an `InputError` naming the bad one). */
export function checkEngineOptions(options: EngineOptions): { engine: InferenceEngine; threads: number | undefined } {
  return {
    engine: checkOneOf('engine', options.engine ?? 'auto', ENGINES),
    threads: options.threads === undefined ? undefined : checkPositiveInt('threads', options.threads),
  };
}

/**
 * Picks the engine for running `model` (see {@link InferenceEngine}), creating or reusing its
 * onnxruntime session, and tells `options.logger` which it is and, when 'auto' fell back to
 * tfjs, why. 'onnxruntime' for a model it cannot run, or without onnxruntime-node, is an
 * `InputError` that says so.
 *
 * @example
 * const { engine, session } = await chooseEngine(model, { engine: 'auto', threads: 2 });
 */
export async function chooseEngine(model: tf.LayersModel, options: EngineOptions = {}): Promise<EngineChoice> {
  const { engine, threads = defaultThreads() } = checkEngineOptions(options);
  const logger = options.logger ?? silentLogger;
  const tfjs = (why?: string): EngineChoice => {
    const describe = `tfjs (${tf.getBackend()})`;
    logger.info(`inference engine: ${describe}${why ? `; not onnxruntime: ${why}` : ''}`);
    return { engine: 'tfjs', describe };
  };
  if (engine === 'tfjs') return tfjs();
  const arch = architectureOf(model);
  if (engine === 'auto') {
    const ort = await loadOnnxruntime();
    if (typeof ort === 'string') return tfjs(ort);
    if (arch === null) return tfjs(`model '${model.name}' is not a MobileNetV2 of this library`);
  }
  let session: OnnxSession;
  try {
    session = await onnxSession(model, arch ?? requireArchitecture(model, "engine 'onnxruntime'"), threads);
  } catch (error) {
    if (engine !== 'auto') throw error;
    return tfjs(`its session failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  const describe = `onnxruntime (${session.runtime}, ${threads} thread${threads === 1 ? '' : 's'})`;
  logger.info(`inference engine: ${describe}`);
  return { engine: 'onnxruntime', describe, session };
}
