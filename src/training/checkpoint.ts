import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { fileSystem } from '../io/fileSystem.js';
import { tf } from '../tf.js';
import { trackTemporary, writeFileAtomic } from '../io/atomic.js';
import { FileError, fileError, makeDirectory } from '../io/fileError.js';
import type { EpochMetrics } from './types.js';

export const LAST_DIR = 'last';
const STATE_FILE = 'state.json';
const OPTIMIZER_FILE = 'optimizer.bin';
const STATE_FORMAT = 'mobilenetv2-tfjs/trainer-state';

/** Everything besides the weights that a resumed run needs to continue exactly. */
export interface TrainerState {
  format: typeof STATE_FORMAT;
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Total epochs the run was asked for. */
  epochs: number;
  globalStep: number;
  seed: number;
  batchSize: number;
  history: EpochMetrics[];
  /** The epoch saved as the best model, if any. */
  best: EpochMetrics | null;
  optimizer: { name: string; weights: tf.io.WeightsManifestEntry[] };
  /**
   * Whatever the caller wants back on resume (the CLI stores its flags). `totalEpochs`, when
   * set, is the whole run's epoch count where it spans several train calls (fine-tuning's stages).
   */
  config?: Record<string, unknown>;
}

/** A checkpoint read back by {@link loadCheckpoint}. The caller owns `model` and `optimizerWeights`. */
export interface Checkpoint {
  dir: string;
  model: tf.LayersModel;
  state: TrainerState;
  /** The optimizer's `getWeights()` at save time, for `optimizer.setWeights`. */
  optimizerWeights: { name: string; tensor: tf.Tensor }[];
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function syncDir(dir: string): Promise<void> {
  // Makes the renames durable; not every platform can open a directory, hence best effort.
  const handle = await fs.open(dir, 'r').catch(() => null);
  await handle?.sync().catch(() => {});
  await handle?.close();
}

/**
 * Test-only: with MOBILENETV2_TEST_PAUSE_SAVE=FILE, every checkpoint save, once its files are
 * written but before they are swapped in, creates FILE and waits until FILE is deleted. The CLI
 * tests use it to deliver a signal or a kill at exactly that point, not by luck.
 */
async function testPause(): Promise<void> {
  const marker = process.env.MOBILENETV2_TEST_PAUSE_SAVE;
  if (!marker) return;
  await fs.writeFile(marker, String(process.pid));
  while (await exists(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Writes `runDir/last/` (model, optimizer state, trainer state) as one unit. The files are
 * written into a fresh hidden directory that is then swapped in by renames, so a crash at any
 * point leaves either the previous checkpoint or the new one; in the instant between the two
 * renames the previous one is `.last-*.old`, which {@link loadCheckpoint} recovers. A failed
 * save (a full disk) removes the hidden directory and throws a one-line `FileError` naming the
 * path and the errno; the previous `last/` stays as it was.
 */
export async function saveCheckpoint(
  runDir: string, model: tf.LayersModel, optimizer: tf.Optimizer, state: Omit<TrainerState, 'format' | 'version' | 'optimizer'> & { optimizerName: string },
): Promise<void> {
  await makeDirectory(runDir, 'create the run directory');
  for (const name of await fs.readdir(runDir)) {
    if (/^\.last-[0-9a-f]+\.tmp$/.test(name)) await fs.rm(path.join(runDir, name), { recursive: true, force: true });
  }
  const id = randomBytes(4).toString('hex');
  const tmp = path.join(runDir, `.last-${id}.tmp`);
  const last = path.join(runDir, LAST_DIR);
  const old = path.join(runDir, `.last-${id}.old`);
  const untrack = trackTemporary(tmp);
  try {
    await fs.mkdir(tmp).catch((error) => {
      throw fileError(error, tmp, 'create the checkpoint directory');
    });
    await model.save(fileSystem(tmp));
    const weights = await optimizer.getWeights();
    // getWeights returns the optimizer's own variables plus a fresh 'iter' scalar, which is ours to dispose.
    const { data, specs } = await tf.io.encodeWeights(weights).finally(() => {
      tf.dispose(weights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
    });
    await writeFileAtomic(path.join(tmp, OPTIMIZER_FILE), new Uint8Array(data as ArrayBuffer));
    const { optimizerName, ...rest } = state;
    const full: TrainerState = { format: STATE_FORMAT, version: 1, ...rest, optimizer: { name: optimizerName, weights: specs } };
    await writeFileAtomic(path.join(tmp, STATE_FILE), JSON.stringify(full, null, 1));
    await syncDir(tmp);
    await testPause();
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    untrack();
    // The hidden directory is gone: name the checkpoint the user knows.
    throw error instanceof FileError ? new FileError(`${last}${path.sep}`, error.code, 'write the checkpoint', error) : error;
  }
  try {
    const hadLast = await exists(last);
    if (hadLast) await fs.rename(last, old);
    await fs.rename(tmp, last);
    untrack();
    await syncDir(runDir);
    if (hadLast) await fs.rm(old, { recursive: true, force: true });
  } catch (error) {
    throw fileError(error, last, 'replace the checkpoint');
  } finally {
    untrack();
  }
}

/** What a run directory holds, as {@link readSavedRun} reads it. */
export interface SavedRun {
  /** Epoch of `last/` (0: none yet), of the total it was asked for. */
  lastEpoch: number;
  epochs: number;
  /** Epoch saved as `model.json`, if any. */
  bestEpoch: number | null;
}

/**
 * Reads what `runDir` holds, synchronously (it also runs on exit paths): the epoch of
 * `last/state.json` and of the best model. Missing or unreadable files count as not saved.
 *
 * @example
 * const { lastEpoch, bestEpoch } = readSavedRun('runs/mnist');
 */
export function readSavedRun(runDir: string): SavedRun {
  const read = <T>(file: string): T | null => {
    try {
      return JSON.parse(readFileSync(path.join(runDir, file), 'utf8')) as T;
    } catch {
      return null;
    }
  };
  const state = read<TrainerState>(path.join(LAST_DIR, STATE_FILE));
  const best = read<{ userDefinedMetadata?: { epoch?: number } }>('model.json')?.userDefinedMetadata?.epoch;
  // A run of several train calls (fine-tuning's stages) records its own total.
  const total = state?.config?.totalEpochs;
  return { lastEpoch: state?.epoch ?? 0, epochs: typeof total === 'number' ? total : state?.epochs ?? 0, bestEpoch: typeof best === 'number' ? best : null };
}

/**
 * The run directory of a checkpoint given as `dir` (a run directory or its `last/`), after
 * checking that it can be read: what a resumed run locks and writes to, unless told otherwise.
 * A missing directory is an error here, not something to create.
 *
 * @example
 * const out = await resumedRunDir('runs/mnist/last'); // 'runs/mnist'
 */
export async function resumedRunDir(dir: string): Promise<string> {
  const stat = await fs.stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${dir}: cannot read the checkpoint directory (${error.code})`);
  });
  if (!stat.isDirectory()) throw new InputError(`${dir}: cannot read the checkpoint directory (ENOTDIR)`);
  return path.basename(path.resolve(dir)) === LAST_DIR ? path.dirname(dir) : dir;
}

/** Finds the directory holding state.json: `dir` itself, `dir/last`, or a `.last-*.old` left by a crash mid-swap. */
async function findCheckpointDir(dir: string): Promise<string> {
  if (await exists(path.join(dir, STATE_FILE))) return dir;
  const last = path.join(dir, LAST_DIR);
  if (await exists(path.join(last, STATE_FILE))) return last;
  const names = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${dir}: cannot read the checkpoint directory (${error.code})`);
  });
  for (const name of names.filter((n) => /^\.last-[0-9a-f]+\.old$/.test(n))) {
    const candidate = path.join(dir, name);
    if (await exists(path.join(candidate, STATE_FILE))) {
      if (!(await exists(last))) {
        await fs.rename(candidate, last);
        return last;
      }
      return candidate;
    }
  }
  throw new InputError(`${dir}: no checkpoint to resume; expected ${path.join(last, STATE_FILE)}`);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}. `dir` is a run directory (with `last/`)
 * or the `last/` directory itself.
 *
 * @example
 * const ckpt = await loadCheckpoint('runs/mnist-2024');
 * await train(ckpt.model, data, { resume: ckpt, out: 'runs/mnist-2024' });
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const ckptDir = await findCheckpointDir(dir);
  const stateFile = path.join(ckptDir, STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(await fs.readFile(stateFile, 'utf8'));
  } catch {
    throw new InputError(`${stateFile}: cannot read the trainer state (not valid JSON)`);
  }
  if (state?.format !== STATE_FORMAT || state.version !== 1) {
    throw new InputError(`${stateFile}: not a trainer state; expected format "${STATE_FORMAT}" version 1`);
  }
  const bytes = await fs.readFile(path.join(ckptDir, OPTIMIZER_FILE)).catch(() => {
    throw new InputError(`${path.join(ckptDir, OPTIMIZER_FILE)}: cannot read the optimizer state`);
  });
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buffer, state.optimizer.weights);
  const optimizerWeights = state.optimizer.weights.map((spec) => ({ name: spec.name, tensor: map[spec.name] }));
  const model = await tf.loadLayersModel(fileSystem(ckptDir));
  return { dir: ckptDir, model, state, optimizerWeights };
}

/**
 * Refuses a resume that would train nothing: `epochs` is the total, counting the epochs the run
 * already has, so it must exceed them.
 */
export function alreadyTrained(resume: string, epochs: number | undefined, done: number): void {
  if (epochs !== undefined && epochs <= done) {
    throw new InputError(`epochs=${epochs}: ${resume} has already trained ${done} epoch${done === 1 ? '' : 's'}; `
      + `epochs counts them, so pass more than ${done} to train further`);
  }
}

/**
 * Says, in one warning, that a fresh run on `out` replaces the run already there (its
 * `model.json`, `last/` and `metrics.jsonl`; old `quantized-*` copies are left and no longer
 * match), as Keras's checkpoints overwrite; `--resume` is how to continue it instead.
 */
export async function warnIfReplacingRun(out: string, logger: { warn(message: string): void }): Promise<void> {
  if (!(await exists(path.join(out, 'model.json'))) && !(await exists(path.join(out, 'last', STATE_FILE)))) return;
  const quantized = (await fs.readdir(out).catch(() => [] as string[])).filter((f) => f.startsWith('quantized-'));
  logger.warn(`${out} already holds a run: this one replaces its model.json, last/ and metrics.jsonl`
    + `${quantized.length ? ` (and leaves ${quantized.join(', ')} from the old run)` : ''}; to continue that run instead, resume it (--resume ${out}, or the resume option)`);
}
