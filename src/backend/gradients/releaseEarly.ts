import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';

type NamedGradientMap = Record<string, () => Tensor>;
import * as tf from '@tensorflow/tfjs';

interface EngineState {
  gradientDepth: number;
  activeScope: { id: number } | null;
}

interface Finished {
  dys: Tensor[];
  saved: Tensor[];
  results: Tensor[];
}

// The node whose gradient ran last. TF.js's backward pass calls a node's gradient closures
// right after its gradFunc and before the next node's, so when the next wrapped gradFunc starts,
// nothing reads this node's dy or saved tensors any more.
let finished: Finished | null = null;

function releaseFinished(): void {
  if (finished === null) return;
  const { dys, saved, results } = finished;
  finished = null;
  for (const t of saved) t.dispose();
  // A gradient may hand its dy on unchanged as an input's gradient; then it lives on.
  for (const dy of dys) if (!results.includes(dy)) dy.dispose();
}

/**
 * Marks a node's dy and saved tensors for release once the next node's gradient starts, and
 * returns `grads` with closures that record what they return. Call it from a gradFunc after
 * computing `grads`.
 *
 * Why: TF.js keeps every saved tensor until the backward pass ends and runs the pass inside one
 * tidy, so every intermediate gradient lives to the end as well. A training step then holds the
 * whole forward pass plus its gradient at once, about twice what PyTorch holds, whose autograd
 * frees each node's buffers as soon as the node has run. Released here is only what the
 * backward pass itself created (tensors of its own scope) and the node's saved copies, and only
 * in a first-order gradient: a gradient of a gradient keeps the tape.
 */
export function releaseWhenDone(dy: Tensor | Tensor[], saved: Tensor[], grads: NamedGradientMap): NamedGradientMap {
  releaseFinished();
  const state = (tf.engine() as unknown as { state: EngineState }).state;
  if (state.gradientDepth !== 0 || state.activeScope === null) return grads;
  const scope = state.activeScope.id;
  const dys = (Array.isArray(dy) ? dy : [dy]).filter((t) => t != null && (t as unknown as { scopeId: number }).scopeId === scope);
  const entry: Finished = { dys, saved: [...saved], results: [] };
  finished = entry;
  const wrapped: NamedGradientMap = {};
  for (const [name, fn] of Object.entries(grads)) {
    wrapped[name] = () => {
      const result = fn();
      entry.results.push(result);
      return result;
    };
  }
  return wrapped;
}

/** `config` with its gradient's dy and saved tensors released as soon as the backward pass is past it. */
export function releaseEarly(config: GradConfig): GradConfig {
  return {
    ...config,
    gradFunc: (dy, saved, attrs) => releaseWhenDone(dy, saved, config.gradFunc(dy, saved, attrs) as NamedGradientMap),
  };
}

const unwrapped = new Map<string, GradConfig>();

/**
 * Wraps the registered gradient of every kernel in `kernelNames` with {@link releaseEarly};
 * {@link restoreGradients} undoes it.
 */
export function installReleaseEarly(kernelNames: Iterable<string>): void {
  for (const name of kernelNames) {
    const config = tf.getGradient(name);
    if (config === undefined || unwrapped.has(name)) continue;
    unwrapped.set(name, config);
    tf.registerGradient(releaseEarly(config));
  }
}

/** Puts back the gradients that {@link installReleaseEarly} wrapped. */
export function restoreGradients(): void {
  for (const config of unwrapped.values()) tf.registerGradient(config);
  unwrapped.clear();
  finished = null;
}
