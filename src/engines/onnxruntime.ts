import os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { onnxModel } from '../export/exportOnnx.js';
import type { Architecture } from '../models/architecture.js';
import type { HostBatch } from '../parallel/lanes.js';
import { tf } from '../tf.js';

/** Which output of the engine's session a run reads. */
export type SessionOutput = 'output' | 'pooled';

/** One model's onnxruntime session (see {@link onnxSession}). */
export interface OnnxSession {
  /** The model's output for `x` ([N, h, w, c] as a tensor or plain values, as `model.predict` takes it), or its pooled features: a new tensor. */
  run(x: tf.Tensor | HostBatch, output?: SessionOutput): Promise<tf.Tensor>;
  /** intra-op threads. */
  threads: number;
  /** e.g. 'onnxruntime-node 1.30.0'. */
  runtime: string;
}

type OrtModule = typeof Ort;

let loading: Promise<OrtModule | string> | null = null;

/** onnxruntime-node, loaded once; or why it cannot be (not installed, no binary for this platform). */
export function loadOnnxruntime(): Promise<OrtModule | string> {
  loading ??= (async () => {
    const pkg = 'onnxruntime-node';
    try {
      // A computed specifier: bundlers leave the optional native package alone.
      const mod = (await import(/* @vite-ignore */ pkg as string)) as OrtModule & { default?: OrtModule };
      return mod.InferenceSession ? mod : mod.default!;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      return /Cannot find (module|package)/.test(reason) ? `${pkg} is not installed` : `${pkg} failed to load (${reason})`;
    }
  })();
  return loading;
}

/** All cores: what onnxruntime's own default (physical cores) would leave idle on SMT machines, it uses. */
export const defaultThreads = () => os.availableParallelism();

interface Entry {
  /** The model's weight tensors when the session was built: any assign (training, setWeights) replaces one. */
  weights: object[];
  threads: number;
  session: Promise<Ort.InferenceSession>;
  /** Runs under way, and whether a newer session replaced this one (released when the last run ends). */
  busy: number;
  stale: boolean;
}

const sessions = new WeakMap<tf.LayersModel, Entry>();

const weightIds = (model: tf.LayersModel) => model.weights.map((w) => w.read().dataId);
const sameIds = (a: object[], b: object[]) => a.length === b.length && a.every((id, i) => id === b[i]);

function release(entry: Entry): void {
  if (entry.stale && entry.busy === 0) void entry.session.then((s) => s.release(), () => {});
}

// The engine's own export takes TF.js's NHWC batches as they are and any image size, as TF.js
// does. Measured at α 1, 224 px, batch 32 on 2 threads, an NHWC file runs within noise of an NCHW
// one (median 850 vs 840 ms on a loaded machine; onnxruntime reorders either into its NCHWc
// layout), and NCHW would cost a TF.js transpose of every batch here.
async function createSession(ort: OrtModule, model: tf.LayersModel, arch: Architecture, threads: number): Promise<Ort.InferenceSession> {
  const bytes = await onnxModel(model, arch, { layout: 'nhwc', pooledOutput: true, freeSize: true });
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}

/**
 * The onnxruntime session of `model` (a MobileNetV2 of this library, `arch` its description):
 * an in-memory ONNX export of the same network (BatchNorm folded, NHWC input), created once per
 * model and thread count and kept while the model's weights stay the same; when they change
 * (training, `setWeights`), the next call exports them again. Inputs and outputs cross as flat
 * float32 arrays; nothing stays behind on the TF.js side.
 *
 * @example
 * const session = await onnxSession(model, architectureOf(model)!, 2);
 * const logits = await session.run(images);
 */
export async function onnxSession(model: tf.LayersModel, arch: Architecture, threads: number): Promise<OnnxSession> {
  const ort = await loadOnnxruntime();
  if (typeof ort === 'string') throw new InputError(`engine 'onnxruntime' needs onnxruntime-node (npm i onnxruntime-node); ${ort}`);
  const weights = weightIds(model);
  let entry = sessions.get(model);
  if (!entry || entry.threads !== threads || !sameIds(entry.weights, weights)) {
    if (entry) {
      entry.stale = true;
      release(entry);
    }
    entry = { weights, threads, session: createSession(ort, model, arch, threads), busy: 0, stale: false };
    sessions.set(model, entry);
  }
  const current = entry;
  const session = await current.session.catch((error: unknown) => {
    if (sessions.get(model) === current) sessions.delete(model);
    throw error;
  });
  const [output, pooled] = session.outputNames as [string, string | undefined];
  return {
    threads,
    runtime: `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`,
    run: async (x, which = 'output') => {
      // A pooling head's output is the pooled features already.
      const name = which === 'pooled' ? pooled ?? output : output;
      let data: Float32Array;
      if (x instanceof tf.Tensor) {
        const float = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
        data = (await float.data()) as Float32Array;
        if (float !== x) float.dispose();
      } else {
        data = x.data;
      }
      current.busy++;
      try {
        const result = await session.run({ input: new ort.Tensor('float32', data, x.shape) }, [name]);
        const y = result[name]!;
        return tf.tensor(y.data as Float32Array, y.dims as number[], 'float32');
      } finally {
        current.busy--;
        release(current);
      }
    },
  };
}
