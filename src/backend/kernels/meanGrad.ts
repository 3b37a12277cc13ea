import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { axisRun, float32, isShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel for the gradient of a Mean over a run of consecutive axes
 * [start, end) (the leading axes of BatchNorm statistics, the spatial axes of global average
 * pooling): dy, one value per outer and trailing position, spread over `shape` and divided by
 * the number of rows the run spans.
 */
export const MEAN_GRAD = 'MobileNetV2MeanGrad';

interface MeanGradAttrs {
  shape: number[];
  /** The first reduced axis; default 0. */
  start?: number;
  /** One past the last reduced axis; default: the rank of `shape` minus that of dy, from `start`. */
  end?: number;
}

/** The reduced run of {@link MeanGradAttrs} for dy, or null where dy does not fit `shape`. */
function meanGradRun(dy: TensorInfo, { shape, start = 0, end }: MeanGradAttrs) {
  if (!float32(dy) || !isShape(shape) || !Number.isInteger(start) || start < 0) return null;
  const stop = end ?? start + shape.length - dy.shape.length;
  if (!Number.isInteger(stop) || stop < start || stop > shape.length) return null;
  const run = axisRun(shape, start, stop);
  return run.outer * run.channels === sizeOf(dy.shape) && run.outer * run.channels > 0 ? run : null;
}

/** Whether {@link meanGrad} takes dy for an input of `shape` reduced over [start, end). */
export const meanGradSupports = (dy: TensorInfo, attrs: MeanGradAttrs): boolean => meanGradRun(dy, attrs) !== null;

export const meanGrad: SimdKernel<{ dy: TensorInfo }, MeanGradAttrs> = {
  kernelName: MEAN_GRAD,
  run(heap, { dy }, attrs) {
    const run = meanGradRun(dy, attrs);
    if (run === null) return null;
    const { outer, rows, channels } = run;
    const [out] = heap.run([dy], [attrs.shape], (k, [dyPtr], [outPtr]) => {
      for (let o = 0; o < outer; o++) k.broadcastRows(dyPtr! + 4 * o * channels, outPtr! + 4 * o * rows * channels, { rows, channels }, rows /* divisor */);
    });
    return out!;
  },
};
