import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
// '@tensorflow/tfjs' itself, not ../tf.js: tf.ts imports this file to register on import, and
// the cycle would leave this module uninitialized when it runs. Same package, same engine.
import * as tf from '@tensorflow/tfjs';
import { batchNormGradConfig } from './gradients/batchNormGrad.js';
import { meanGradConfig } from './gradients/meanGrad.js';
import { minimumGradConfig } from './gradients/minimumGrad.js';
import { installReleaseEarly, restoreGradients } from './gradients/releaseEarly.js';
import { relu6GradConfig } from './gradients/relu6Grad.js';
import { reluGradConfig } from './gradients/reluGrad.js';
import { squareGradConfig } from './gradients/squareGrad.js';
import { adam } from './kernels/adam.js';
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
import { padV2 } from './kernels/padV2.js';
import { mean, sum } from './kernels/reduceLeading.js';
import { relu } from './kernels/relu.js';
import { maximum, minimum } from './kernels/scalarMinMax.js';
import { slice } from './kernels/slice.js';
import { square, squareGrad } from './kernels/square.js';
import type { SimdKernel } from './kernels/simdKernel.js';
import { installFusedAdam, restoreStockAdam } from './optimizers/fusedAdam.js';
import { cpuHeap, type CpuBackendLike, type Heap, UnsupportedInput, wasmHeap, type WasmBackendLike } from './simd/heap.js';

/** Every kernel of this library; each runs on both backends below unless it names its own. */
export const SIMD_KERNELS = [
  conv2DBackpropFilter,
  conv2DBackpropInput,
  depthwiseConv2dNativeBackpropFilter,
  depthwiseConv2dNativeBackpropInput,
  maskGrad,
  batchNormGrad,
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
  meanGrad,
  squareGrad,
  square,
] as readonly SimdKernel<NamedTensorInfoMap, NamedAttrMap>[];

/** The backends these kernels replace stock kernels on; native backends bring their own. */
export const SIMD_BACKENDS = ['wasm', 'cpu'] as const;

const heaps: Record<(typeof SIMD_BACKENDS)[number], (backend: unknown) => Heap> = {
  wasm: (backend) => wasmHeap(backend as WasmBackendLike),
  cpu: (backend) => cpuHeap(backend as CpuBackendLike),
};

const stockKernels = new Map<string, KernelConfig | undefined>();

/** The kernel TF.js itself registered for `kernelName` on `backendName`, before this library replaced it. */
export function stockKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return stockKernels.get(`${backendName}_${kernelName}`);
}

const stockGradients = new Map<string, GradConfig | undefined>();
const GRADIENTS: readonly [string, (stock: GradConfig) => GradConfig][] = [
  ['FusedBatchNorm', batchNormGradConfig],
  ['Relu6', relu6GradConfig],
  ['Relu', reluGradConfig],
  ['Minimum', minimumGradConfig],
  ['Mean', meanGradConfig],
  ['Square', squareGradConfig],
];

let registered = false;

/**
 * Registers this library's kernels on 'wasm' and 'cpu', its gradients for FusedBatchNorm, Relu,
 * Relu6, Minimum, Mean and Square, and a one-kernel step for every `tf.AdamOptimizer`, globally,
 * so that plain `model.fit()` uses them. Idempotent; tf.ts calls it on import.
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
        let out: TensorInfo | TensorInfo[] | null;
        try {
          out = kernel.run(heaps[backendName](args.backend), args.inputs, args.attrs ?? {});
        } catch (error) {
          if (!(error instanceof UnsupportedInput)) throw error;
          out = null;
        }
        if (out !== null) return out;
        if (stock === undefined) throw new Error(`${kernel.kernelName} on ${backendName}: case not supported`);
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
  installFusedAdam();
}

/**
 * Puts TF.js's own kernels and gradients back (for tests and benchmarks that need the stock
 * behaviour as a reference); {@link registerKernels} installs this library's again.
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
  restoreStockAdam();
}
