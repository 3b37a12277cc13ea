import { InputError } from '../errors.js';
import { tf } from '../tf.js';

/** The most one wasm32 heap can grow to (emscripten's limit for TF.js's wasm module): 4 GiB less 64 KiB. */
export const WASM_HEAP_LIMIT = 4294901760;

/**
 * Thrown when a training step would not fit in memory (or did not): an {@link InputError},
 * because the batch size is the caller's choice.
 */
export class OutOfMemoryError extends InputError {
  override name = 'OutOfMemoryError';
}

const GB = 2 ** 30;

/**
 * Bytes a training step on wasm needs: the weights with Adam's two moments and a gradient,
 * plus, per image, every layer's output once and a tenth more for the heap's fragmentation.
 * The trainer keeps little more than each conv unit's conv output and activation for the
 * backward pass (see trainingOps.ts); measured with `npm run profile:memory` at 63 MB of live
 * tensors and 91 MB of heap per image for MobileNetV2 α=1 at 224 px, where this gives 92 MB.
 */
export function estimateStepBytes(model: tf.LayersModel, batchSize: number): number {
  let perImage = 0;
  for (const layer of model.layers) {
    const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (number | null)[][];
    for (const shape of shapes) perImage += shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  }
  return 4 * (4 * model.countParams() + 1.1 * batchSize * perImage);
}

const describeInput = (model: tf.LayersModel) => (model.inputs[0]!.shape.slice(1) as number[]).join('×');

/** The one-line message for a batch that does not fit; `workers` is how many heaps share it. */
function outOfMemory(model: tf.LayersModel, batchSize: number, workers: number, needed: number, prefix = ''): OutOfMemoryError {
  const perImage = estimateStepBytes(model, 1) - estimateStepBytes(model, 0);
  const perHeap = Math.max(1, Math.floor((WASM_HEAP_LIMIT * 0.95 - estimateStepBytes(model, 0)) / perImage));
  return new OutOfMemoryError(
    `${prefix}a training step of batch ${batchSize}${workers > 1 ? ` over ${workers} workers` : ''} at ${describeInput(model)} needs about `
    + `${(needed / GB).toFixed(1)} GB of wasm memory per heap, more than the 4 GB one wasm heap can hold; `
    + `use --batch-size ${perHeap * workers} or less, or --workers ${Math.ceil(batchSize / perHeap)} to split each batch across heaps`,
  );
}

/**
 * Throws an {@link OutOfMemoryError} before training when a step of `batchSize` images split over
 * `workers` heaps would not fit in one wasm heap, instead of letting the wasm module abort
 * mid-step. Other backends are not checked (their memory is the machine's).
 */
export function checkStepFits(model: tf.LayersModel, batchSize: number, workers = 1): void {
  if (tf.getBackend() !== 'wasm') return;
  const needed = estimateStepBytes(model, Math.ceil(batchSize / workers));
  if (needed > WASM_HEAP_LIMIT * 0.95) throw outOfMemory(model, batchSize, workers, needed);
}

/**
 * `error` as an {@link OutOfMemoryError} when it is the wasm module's abort on a failed
 * allocation (emscripten's `Aborted()`), else `error` itself. After such an abort the wasm
 * backend cannot run anything more in this process.
 */
export function explainAbort(error: unknown, model: tf.LayersModel, batchSize: number, workers = 1): unknown {
  if (!(error instanceof Error) || !/^Aborted\(/.test(error.message)) return error;
  const needed = Math.max(estimateStepBytes(model, Math.ceil(batchSize / workers)), WASM_HEAP_LIMIT);
  return outOfMemory(model, batchSize, workers, needed, 'the wasm heap ran out of memory: ');
}
