import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tf } from '../tf.js';
import { OutOfMemoryError } from '../training/memory.js';
import type { FromReplica, InitMessage, ToReplica } from './protocol.js';

/** A replica's worker thread failed, threw or exited; the message names which and where. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/**
 * The Node options a worker starts with: the parent's, which Node hands down by default, minus
 * what a worker refuses. `--input-type` (of `node -e`) is refused for a file entry, and so are
 * V8 and process-wide options (`--max-old-space-size`, `--no-wasm-dynamic-tiering`, `--title`,
 * ...; they already apply to the whole process): a worker given any of them throws
 * ERR_WORKER_INVALID_EXEC_ARGV, and Node names them only in that error, so they are dropped from
 * it and the worker is made again.
 */
function newWorker(entry: URL | string, options: { eval?: boolean }): Worker {
  let execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
  for (;;) {
    try {
      return new Worker(entry, { ...options, execArgv });
    } catch (error) {
      const invalid = (error as { code?: string }).code === 'ERR_WORKER_INVALID_EXEC_ARGV'
        ? new Set((error as Error).message.split(': ').slice(1).join(': ').split(',').map((flag) => flag.trim()))
        : new Set<string>();
      const kept = execArgv.filter((arg) => !invalid.has(arg));
      if (kept.length === execArgv.length) throw error;
      execArgv = kept;
    }
  }
}

/**
 * A new replica thread. The published package runs dist/worker.js next to its bundle; from
 * TypeScript sources (tests, tsx) the thread first registers tsx's loader, then imports
 * worker.ts (a worker's `execArgv` does not carry `--import` loaders into its first import).
 */
export function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return newWorker(new URL('./worker.js', here), {});
  const tsx = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsx, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker.ts', here).href;
  return newWorker(`import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}

/** One rank's worker and the replies it has sent that nobody has taken yet. */
export class ReplicaThread {
  private replies: FromReplica[] = [];
  private waiting: { resolve: (m: FromReplica) => void; reject: (e: Error) => void } | null = null;
  failure: Error | null = null;
  exited = false;

  constructor(readonly worker: Worker, readonly rank: number, ranks: number) {
    worker.on('message', (message: FromReplica) => {
      if (message.type === 'error') {
        this.fail(message.name === 'OutOfMemoryError'
          ? new OutOfMemoryError(message.message)
          : new WorkerError(`worker ${rank} of ${ranks - 1} failed: ${message.name}: ${message.message}`));
        return;
      }
      if (this.waiting) {
        this.waiting.resolve(message);
        this.waiting = null;
      } else this.replies.push(message);
    });
    worker.on('error', (error) => this.fail(new WorkerError(`worker ${rank} of ${ranks - 1} crashed: ${error.message.split('\n')[0]}`)));
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new WorkerError(`worker ${rank} of ${ranks - 1} exited unexpectedly (exit code ${code})`));
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting?.reject(this.failure);
    this.waiting = null;
  }

  post(message: ToReplica): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(message);
  }

  /** The next reply, or the worker's failure. */
  next(): Promise<FromReplica> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }
}

/**
 * Starts ranks 1 … `ranks − 1`, each in a new worker thread sent `init`, appending each to
 * `replicas` as soon as it exists (so that a caller whose start fails part-way can stop those).
 */
export function spawnReplicas(replicas: ReplicaThread[], ranks: number, init: Omit<InitMessage, 'type' | 'rank'>): void {
  for (let rank = 1; rank < ranks; rank++) {
    const replica = new ReplicaThread(spawnWorker(), rank, ranks);
    replicas.push(replica);
    replica.post({ type: 'init', rank, ...init });
  }
}

/** Stops every replica's thread at once (after a failure, an interrupt, or a close). */
export async function terminateReplicas(replicas: readonly ReplicaThread[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.worker.terminate()));
}

/**
 * Asks every replica still alive to dispose its model, then stops every thread; returns each live
 * replica's tensor count after disposal (its `baseTensors` when nothing leaked; -1 for a reply of
 * another kind).
 */
export async function closeReplicas(replicas: readonly ReplicaThread[]): Promise<number[]> {
  try {
    const alive = replicas.filter((r) => !r.failure);
    for (const replica of alive) replica.post({ type: 'close' });
    const replies = await Promise.all(alive.map((r) => r.next()));
    return replies.map((m) => (m.type === 'closed' ? m.numTensors : -1));
  } finally {
    await terminateReplicas(replicas);
  }
}

/** What every replica's init carries of `model`: its topology, weights and trainable flags. */
export function modelPayload(model: tf.LayersModel): Pick<InitMessage, 'topology' | 'weights' | 'trainable' | 'backend'> {
  return {
    backend: tf.getBackend(),
    topology: JSON.stringify(model.toJSON(null, false)),
    weights: model.weights.map((w) => w.read().dataSync() as Float32Array),
    trainable: model.layers.map((l) => l.trainable),
  };
}
