import { tf } from '../tf.js';
import type { SharedGradients } from './protocol.js';

const FLOAT = 4;

/** Shared memory for `ranks` gradients of `size` floats plus their combination. */
export function allocateGradients(size: number, ranks: number): SharedGradients {
  return {
    buffer: new SharedArrayBuffer((ranks + 1) * size * FLOAT),
    size,
    ranks,
    flags: new SharedArrayBuffer(ranks * 4),
  };
}

const slot = (shared: SharedGradients, rank: number) => new Float32Array(shared.buffer, rank * shared.size * FLOAT, shared.size);
const result = (shared: SharedGradients) => slot(shared, shared.ranks);

/**
 * Writes `grads` (the trainable weights' gradients in order; null for a rank without rows)
 * into `rank`'s slot, then publishes `step` in its flag. The Atomics store orders the writes
 * before it for whoever reads the flag.
 */
export function writeGradients(shared: SharedGradients, rank: number, grads: tf.Tensor[] | null, step: number): void {
  const out = slot(shared, rank);
  if (grads === null) out.fill(0);
  else {
    let offset = 0;
    for (const g of grads) {
      const values = g.dataSync() as Float32Array;
      out.set(values, offset);
      offset += values.length;
    }
    if (offset !== shared.size) throw new Error(`gradients hold ${offset} values; the shared slot has ${shared.size}`);
  }
  Atomics.store(new Int32Array(shared.flags), rank, step);
}

/**
 * Combines the ranks' gradients into the result area: Σ_r (rows_r / rows) · g_r, summed in rank
 * order, so the gradient is that of the mean loss over the whole batch and the same bits for a
 * given batch and worker count. Throws when a rank has not published `step`.
 */
export function combineGradients(shared: SharedGradients, rows: readonly number[], step: number): void {
  const flags = new Int32Array(shared.flags);
  for (let r = 0; r < shared.ranks; r++) {
    if (Atomics.load(flags, r) !== step) throw new Error(`rank ${r} has not written the gradient of step ${step}`);
  }
  const total = rows.reduce((a, b) => a + b, 0);
  const out = result(shared);
  const slots = Array.from({ length: shared.ranks }, (_, r) => slot(shared, r));
  const weights = rows.map((n) => n / total);
  out.fill(0);
  for (let r = 0; r < shared.ranks; r++) {
    if (rows[r] === 0) continue;
    const g = slots[r]!;
    const w = weights[r]!;
    for (let i = 0; i < shared.size; i++) out[i] = out[i]! + w * g[i]!;
  }
}

/** The combined gradient as tensors keyed by the names of `weights`' variables (for `applyGradients`). */
export function readGradients(shared: SharedGradients, weights: readonly tf.LayerVariable[]): Record<string, tf.Tensor> {
  const values = result(shared);
  const grads: Record<string, tf.Tensor> = {};
  let offset = 0;
  for (const w of weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    grads[(w.read() as tf.Variable).name] = tf.tensor(values.slice(offset, offset + n), shape);
    offset += n;
  }
  return grads;
}

/** Floats in a gradient of `weights`. */
export function gradientSize(weights: readonly tf.LayerVariable[]): number {
  return weights.reduce((sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
