import type { DataId, GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';

type NamedGradientMap = Record<string, () => Tensor>;

/*
 * Early release in the backward pass. TF.js keeps every tensor saved for the backward pass until
 * the pass ends, and runs the pass inside one tidy, so every intermediate gradient lives to the
 * end as well: a training step then holds its whole forward pass plus its whole gradient at
 * once, where PyTorch's autograd frees each node's buffers as soon as the node has run.
 *
 * Measured with `npm run profile:memory` (one step on wasm, shared 2-core machine, 2026-12-02),
 * peak of live tensors / wasm heap / peak RSS, without any early release → with it:
 *   trainer, 224 px, α = 1, batch 16: 2,333 / 2,463 / 2,545 MB → 1,006 / 1,063 / 1,244 MB;
 *   `model.apply` under `tf.variableGrads` (what `fit` runs), same model: 2,563 / 2,669 MB of
 *     tensors / heap with it (TF.js alone aborts the 4 GB heap at batch 16);
 *   trainer, seed MNIST model, batch 64: 139 / 150 MB → 61 / 72 MB.
 * These equal what the previous release (which relied on the engine's call order and read its
 * private state) reached, to the MB; without the outputs saved below they were 13% (trainer
 * heap) and 34% (`fit`'s tensors) higher.
 * Without it a 224-px batch of 32 would not fit the 4 GB wasm heap. So it stays, on two rules
 * that hold whatever order the engine runs gradients in and that read no engine state:
 *
 * - Saved tensors. Those a gradient receives are the engine's own clones, made for that node
 *   alone; once every closure the gradient returned has run, nothing reads them, so they are
 *   disposed then (the engine's own dispose at the end of the pass does nothing more). A closure
 *   the engine never calls (an input that does not lead from the variables) leaves them to the
 *   end of the pass, as TF.js would.
 * - dy. A node's dy may also be held elsewhere: a custom gradient can hand the same tensor to
 *   several inputs. So a dy is disposed only by the gradient of the node whose output it was
 *   handed over for, as recorded in {@link handoffs}: each wrapped gradient has the engine save
 *   its outputs as well (`outputsToSave`; clones that share the outputs' buffers), so it knows
 *   them, and records each closure's result against the data of the input it is the gradient
 *   of (the clone the node saved of that input); this library's custom gradients
 *   (training/trainingOps.ts) know their output and inputs. A dy passed on unchanged or returned
 *   for two inputs loses its record, and the engine's sums of several contributions have none
 *   (they stay to the end of the pass). What remains possible is a custom gradient outside this
 *   library whose output shares its input's buffer (a clone or reshape of it) and that hands its
 *   dy to several inputs.
 *
 * Both apply to first-order passes only: under an outer tape (a gradient of a gradient) the
 * tape and its tensors are kept.
 */

/**
 * The registry of hand-offs: for a gradient tensor, the data of the tensor it was computed as
 * the gradient of (null once it is known to be passed on or shared). Weak: an entry goes with
 * its tensor.
 */
const handoffs = new WeakMap<Tensor, DataId | null>();

/** A gradient closure marked by {@link independentOfTape}. */
type Independent = (() => Tensor) & { readsNoTape: true };

/**
 * Marks a closure of this library's gradients that reads neither dy nor the saved tensors, so
 * that the release does not wait for it.
 */
export function independentOfTape(closure: () => Tensor): Independent {
  return Object.assign(() => closure(), { readsNoTape: true as const });
}

function record(gradient: Tensor, of: Tensor): void {
  // A tensor returned for two inputs is held twice: no one may claim it.
  handoffs.set(gradient, handoffs.has(gradient) ? null : of.dataId);
}

/**
 * The outputs a wrapped gradient has the engine save (every output up to this many): a clone of
 * each, so that the gradient knows which tensor its dy is the gradient of.
 */
const SAVED_OUTPUTS = 8;

/**
 * `config` with its node's saved tensors, and each dy handed over for its output alone, released
 * once all its closures have run; their results are recorded as hand-offs. Besides what `config`
 * saves, the engine saves the node's outputs (clones, sharing their buffers), which the stock
 * gradient does not see: only their dataIds are needed, so those clones are disposed as soon as
 * the gradient starts (also when it then throws, as TF.js's gradients of dilated convs do).
 * Configs that save all inputs (AddN, Concat, Pack: an input count the wrapper cannot know) keep
 * their own saved list and release no dy.
 */
export function releaseEarly(config: GradConfig): GradConfig {
  const inputsToSave = config.inputsToSave ?? [];
  const outputsToSave = config.outputsToSave ?? [];
  const savesOutputs = !config.saveAllInputs;
  const savedIndex = (input: string) => (config.saveAllInputs ? Number(input) : inputsToSave.indexOf(input));
  return {
    ...config,
    ...(savesOutputs && { outputsToSave: Array<boolean>(SAVED_OUTPUTS).fill(true) }),
    gradFunc: (dy, saved, attrs) => {
      const outputs = savesOutputs ? saved.slice(inputsToSave.length) : [];
      const outputData = outputs.map((t) => t.dataId);
      outputs.forEach((t, i) => !outputsToSave[i] && t.dispose());
      // What the stock gradient asked for: its inputs, then the outputs it marked.
      const own = savesOutputs ? [...saved.slice(0, inputsToSave.length), ...outputs.filter((_, i) => outputsToSave[i])] : saved;
      const grads = config.gradFunc(dy, own, attrs) as NamedGradientMap;
      if (tf.engine().isTapeOn()) return grads;
      const dys = Array.isArray(dy) ? dy : [dy];
      const pending = new Set(Object.keys(grads).filter((input) => !('readsNoTape' in grads[input]!)));
      const results: Tensor[] = [];
      let released = false;
      const releaseOnce = () => {
        if (released || pending.size > 0) return;
        released = true;
        release(dys, saved, outputData, results);
      };
      const wrapped: NamedGradientMap = {};
      for (const [input, closure] of Object.entries(grads)) {
        wrapped[input] = () => {
          const dx = closure();
          results.push(dx);
          const of = saved[savedIndex(input)];
          if (dys.includes(dx)) handoffs.set(dx, null);
          else if (of != null && !saved.includes(dx)) record(dx, of);
          pending.delete(input);
          releaseOnce();
          return dx;
        };
      }
      releaseOnce(); // every closure independent of the tape
      return wrapped;
    },
  };
}

/** Disposes `saved` and each of `dys` handed over as the gradient of the output (data) at its index, but none of `results`. */
function release(dys: readonly Tensor[], saved: readonly Tensor[], outputs: readonly DataId[], results: readonly Tensor[]): void {
  dys.forEach((dy, i) => {
    const claimed = outputs[i] !== undefined && handoffs.get(dy) === outputs[i];
    handoffs.delete(dy);
    if (claimed && !results.includes(dy)) dy.dispose();
  });
  for (const t of saved) if (!results.includes(t)) t.dispose();
}

/** What a custom gradient that computed all its results up front hands to {@link releaseCustomGradient}. */
export interface CustomGradientRelease {
  dy: Tensor;
  saved: Tensor[];
  /** The custom op's output, whose gradient `dy` is. */
  output: Tensor;
  /** The op's inputs and their gradients, in the same order. */
  inputs: Tensor[];
  results: Tensor[];
}

/**
 * For a `tf.customGrad` gradient of this library, after it computed `results`: disposes its
 * saved tensors and, where `dy` was handed over as the gradient of `output` alone, `dy`; then
 * records `results` as the gradients of `inputs`, for the gradients that run next.
 */
export function releaseCustomGradient({ dy, saved, output, inputs, results }: CustomGradientRelease): void {
  if (tf.engine().isTapeOn()) return;
  release([dy], saved, [output.dataId], results);
  results.forEach((r, i) => record(r, inputs[i]!));
}

// Part of registerKernels' registry: the gradients wrapped here, as TF.js had them.
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
}
