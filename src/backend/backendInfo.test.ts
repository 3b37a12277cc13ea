import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { backendInfo } from './backendInfo.js';
import { registerKernels, restoreStockKernels } from './registerKernels.js';
import { useBackend } from './useBackend.js';

describe('backendInfo', () => {
  it('reports wasm with this library kernels, single-threaded in Node', async () => {
    await useBackend('wasm');
    expect(await backendInfo()).toEqual({ name: 'wasm', ownKernels: true, threads: 1, simd: true });
  });

  it('reports stock kernels after restoreStockKernels', async () => {
    restoreStockKernels();
    try {
      expect((await backendInfo()).ownKernels).toBe(false);
    } finally {
      registerKernels();
    }
  });

  it('reports cpu', async () => {
    await useBackend('cpu');
    expect(await backendInfo()).toMatchObject({ name: 'cpu', ownKernels: true, threads: 1, simd: false });
    await tf.setBackend('wasm');
  });
});
