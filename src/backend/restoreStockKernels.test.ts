import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { FusedAdamOptimizer } from './optimizers/fusedAdam.js';
import { registerKernels, restoreStockKernels, SIMD_BACKENDS, SIMD_KERNELS, stockKernel } from './registerKernels.js';

const GRADIENTS = ['FusedBatchNorm', 'Relu', 'Relu6', 'Minimum', 'Mean', 'Square'];
const NAMES = [...new Set([...SIMD_KERNELS.map((k) => k.kernelName), 'Identity', 'Cast'])];

/** Whether importing the package replaces (or adds) kernel `name` on `backend`. */
const replaced = (name: string, backend: string) =>
  SIMD_KERNELS.some((k) => k.kernelName === name && (!k.backends || k.backends.includes(backend as 'wasm' | 'cpu'))) ||
  (backend === 'wasm' && (name === 'Identity' || name === 'Cast'));

/** Every kernel and gradient that importing the package may replace, as registered now, and Adam's step (which it never replaces). */
function registry(): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const backend of SIMD_BACKENDS) for (const name of NAMES) entries.set(`${backend}/${name}`, tf.getKernel(name, backend));
  for (const name of GRADIENTS) entries.set(`gradient/${name}`, tf.getGradient(name));
  entries.set('Adam', tf.AdamOptimizer.prototype.applyGradients);
  return entries;
}

describe('restoreStockKernels and registerKernels (the opt-out and the opt-in)', () => {
  afterAll(() => registerKernels());

  it("put back exactly TF.js's own kernels and gradients, then this library's again, and leave TF.js's AdamOptimizer alone", () => {
    const ours = registry();
    restoreStockKernels();
    const stock = registry();
    for (const backend of SIMD_BACKENDS) {
      for (const name of NAMES) {
        const key = `${backend}/${name}`;
        // Replaced: the stock config again, or nothing where stock TF.js has no such kernel. Others: untouched.
        expect(stock.get(key), key).toBe(replaced(name, backend) ? stockKernel(name, backend) : ours.get(key));
      }
    }
    expect(stock.get('wasm/Conv2DBackpropFilter')).toBeUndefined();
    expect(stock.get('cpu/Conv2D')).toBeDefined();
    for (const name of GRADIENTS) expect(stock.get(`gradient/${name}`), name).not.toBe(ours.get(`gradient/${name}`));
    expect(stock.get('Adam')).toBe(ours.get('Adam'));
    expect(ours.get('Adam')).not.toBe(FusedAdamOptimizer.prototype.applyGradients);

    restoreStockKernels(); // idempotent
    expect(registry()).toEqual(stock);

    registerKernels();
    registerKernels(); // idempotent
    const again = registry();
    for (const backend of SIMD_BACKENDS) {
      for (const name of NAMES.filter((n) => replaced(n, backend))) {
        expect(again.get(`${backend}/${name}`), `${backend}/${name}`).not.toBe(stockKernel(name, backend));
        expect(again.get(`${backend}/${name}`), `${backend}/${name}`).toBeDefined();
      }
    }
    for (const name of GRADIENTS) expect(again.get(`gradient/${name}`), name).not.toBe(stock.get(`gradient/${name}`));
    expect(again.get('Adam')).toBe(ours.get('Adam'));
  });
});
