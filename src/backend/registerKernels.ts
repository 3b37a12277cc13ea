import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
// '@tensorflow/tfjs' itself, not ../tf.js: tf.ts imports this file to register on import, and
// the cycle would leave this module uninitialized when it runs. Same package, same engine.
import * as tf from '@tensorflow/tfjs';
import { fusedBatchNormGradient } from './gradients/fusedBatchNormGradient.js';
import { meanGradient } from './gradients/meanGradient.js';
import { minimumGradient } from './gradients/minimumGradient.js';
import { installReleaseEarly, restoreGradients } from './gradients/releaseEarly.js';
import { relu6Gradient } from './gradients/relu6Gradient.js';
import { reluGradient } from './gradients/reluGradient.js';
import { squareGradient } from './gradients/squareGradient.js';
import { adam } from './kernels/adam.js';
import { batchMoments } from './kernels/batchMoments.js';
import { batchNormGrad } from './kernels/batchNormGrad.js';
import { add, multiply, realDiv, sub } from './kernels/binaryRows.js';
import { castWasm } from './kernels/cast.js';
import { conv2D, fusedConv2D } from './kernels/conv2D.js';
import { conv2DBackpropFilter } from './kernels/conv2DBackpropFilter.js';
import { conv2DBackpropInput } from './kernels/conv2DBackpropInput.js';
import { depthwiseConv2dNative, fusedDepthwiseConv2D } from './kernels/depthwiseConv2dNative.js';
import { depthwiseConv2dNativeBackpropFilter } from './kernels/depthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInput } from './kernels/depthwiseConv2dNativeBackpropInput.js';
import { fusedBatchNorm } from './kernels/fusedBatchNorm.js';
import { identityWasm } from './kernels/identity.js';
import { maskGrad } from './kernels/maskGrad.js';
import { meanGrad } from './kernels/meanGrad.js';
import { movingAverages } from './kernels/movingAverages.js';
import { padV2 } from './kernels/padV2.js';
import { mean, sum } from './kernels/reduceLeading.js';
import { relu, relu6 } from './kernels/relu.js';
import { maximum, minimum } from './kernels/scalarMinMax.js';
import { slice } from './kernels/slice.js';
import { square, squareGrad } from './kernels/square.js';
import type { SimdKernel } from './kernels/simdKernel.js';
import type { FusedAdamOptimizer } from './optimizers/fusedAdam.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { cpuHeap, type CpuBackendLike, type Heap, wasmHeap } from './simd/heap.js';

/** Every kernel of this library; each runs on both backends below unless it names its own. */
export const SIMD_KERNELS = [
  conv2DBackpropFilter,
  conv2DBackpropInput,
  depthwiseConv2dNativeBackpropFilter,
  depthwiseConv2dNativeBackpropInput,
  maskGrad,
  batchNormGrad,
  batchMoments,
  movingAverages,
  fusedBatchNorm,
  minimum,
  maximum,
  sum,
  mean,
  slice,
  add,
  sub,
  multiply,
  realDiv,
  adam,
  conv2D,
  fusedConv2D,
  depthwiseConv2dNative,
  fusedDepthwiseConv2D,
  padV2,
  relu,
  relu6,
  meanGrad,
  squareGrad,
  square,
] as readonly SimdKernel<NamedTensorInfoMap, NamedAttrMap>[];

/** The backends these kernels replace stock kernels on; native backends bring their own. */
export const SIMD_BACKENDS = ['wasm', 'cpu'] as const;

const heaps: Record<(typeof SIMD_BACKENDS)[number], (backend: unknown) => Heap> = {
  wasm: (backend) => wasmHeap(backend as BackendWasm),
  cpu: (backend) => cpuHeap(backend as CpuBackendLike),
};

// The registry of what this library replaced (with releaseEarly.ts's wrapped gradients), kept
// so that restoreStockKernels can put it back: TF.js keeps only the current registration.
const stockKernels = new Map<string, KernelConfig | undefined>();

/** The kernel TF.js itself registered for `kernelName` on `backendName`, before this library replaced it. */
export function stockKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return stockKernels.get(`${backendName}_${kernelName}`);
}

const stockGradients = new Map<string, GradConfig | undefined>();
const GRADIENTS: readonly [string, (stock: GradConfig) => GradConfig][] = [
  ['FusedBatchNorm', fusedBatchNormGradient],
  ['Relu6', relu6Gradient],
  ['Relu', reluGradient],
  ['Minimum', minimumGradient],
  ['Mean', meanGradient],
  ['Square', squareGradient],
];

let registered = false;

/**
 * The opt-in (importing the package already did it): registers this library's kernels on 'wasm'
 * and 'cpu' in place of TF.js's, its gradients for FusedBatchNorm, Relu, Relu6, Minimum, Mean and
 * Square (which hand back to TF.js's own on backends without its kernels), for the whole process,
 * so that plain `model.fit()` uses them, and wraps the gradient of every kernel name registered on
 * 'wasm' or 'cpu' for early release (gradients/releaseEarly.ts). Each kernel falls back to the
 * stock one for inputs it does not cover or is not faster on (docs/internals.md).
 * TF.js's optimizers are left alone: the one-kernel Adam step is {@link FusedAdamOptimizer}'s, for
 * those who choose it. Idempotent; tf.ts calls it on import. Takes no arguments, returns nothing.
 *
 * @example
 * restoreStockKernels(); // measure stock TF.js
 * registerKernels();     // and this library's kernels again
 */
export function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of SIMD_BACKENDS) {
    for (const kernel of SIMD_KERNELS) {
      if (kernel.backends && !kernel.backends.includes(backendName)) continue;
      const stock = tf.getKernel(kernel.kernelName, backendName);
      stockKernels.set(`${backendName}_${kernel.kernelName}`, stock);
      // Unregister first: registerKernel warns on every replacement.
      if (stock) tf.unregisterKernel(kernel.kernelName, backendName);
      const kernelFunc: KernelFunc = (args) => {
        const out = kernel.run(heaps[backendName](args.backend), args.inputs, args.attrs ?? {});
        if (out !== null) return out;
        if (stock === undefined) {
          throw new Error(`${kernel.kernelName} on ${backendName}: these inputs are not supported (dtypes, shapes or attrs)`);
        }
        return stock.kernelFunc(args) as TensorInfo | TensorInfo[];
      };
      // The stock wasm kernels bind their C functions in setupFunc, which the fallback needs.
      tf.registerKernel({ ...stock, kernelName: kernel.kernelName, backendName, kernelFunc });
    }
  }
  const stockIdentity = tf.getKernel('Identity', 'wasm');
  stockKernels.set('wasm_Identity', stockIdentity);
  if (stockIdentity) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ ...stockIdentity, ...identityWasm });
  const stockCast = tf.getKernel('Cast', 'wasm');
  stockKernels.set('wasm_Cast', stockCast);
  if (stockCast) {
    tf.unregisterKernel('Cast', 'wasm');
    tf.registerKernel(castWasm(stockCast));
  }

  for (const [kernelName, config] of GRADIENTS) {
    const stock = tf.getGradient(kernelName);
    stockGradients.set(kernelName, stock);
    if (stock) tf.registerGradient(config(stock));
  }
  installReleaseEarly(new Set(SIMD_BACKENDS.flatMap((b) => tf.getKernelsForBackend(b).map((k) => k.kernelName))));
}

/**
 * The opt-out: puts back every kernel and gradient that {@link registerKernels} replaced, so that the process runs stock TF.js (for other models that
 * must get stock behaviour, or as a reference in tests and benchmarks). Models built by this
 * library keep working, with TF.js's kernels (on 'cpu', training then takes seconds per batch;
 * stock 'wasm' cannot run the conv gradients). Idempotent; {@link registerKernels} installs this
 * library's kernels again. Takes no arguments, returns nothing.
 *
 * @example
 * restoreStockKernels();
 * await tf.setBackend('cpu'); // TF.js's own cpu kernels and gradients from here on
 */
export function restoreStockKernels(): void {
  if (!registered) return;
  registered = false;
  restoreGradients();
  for (const [key, stock] of stockKernels) {
    const cut = key.indexOf('_');
    const backendName = key.slice(0, cut);
    const kernelName = key.slice(cut + 1);
    tf.unregisterKernel(kernelName, backendName);
    if (stock) tf.registerKernel(stock);
  }
  for (const stock of stockGradients.values()) {
    if (stock) tf.registerGradient(stock);
  }
}
