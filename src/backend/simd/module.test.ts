import { describe, expect, it } from 'vitest';
import { kernelsModule, withSharedMemory } from './module.js';
import type { SimdExports } from './exports.js';

type Memory = { buffer: ArrayBuffer | SharedArrayBuffer };
const Wasm = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => Memory;
    Instance: new (m: object, i: object) => { exports: unknown };
    Module: { imports(m: object): { kind: string }[] };
  };
}).WebAssembly;

/** dx = 2·x·dy through the module on `memory`. */
function squareGrad(module: object, memory: Memory, x: number[], dy: number[]): number[] {
  const simd = new Wasm.Instance(module, { env: { memory } }).exports as SimdExports;
  const heap = new Float32Array(memory.buffer);
  const [xAt, dyAt, dxAt] = [64, 64 + 16 * 4, 64 + 32 * 4];
  heap.set(x, xAt / 4);
  heap.set(dy, dyAt / 4);
  simd.square_grad(dyAt, xAt, dxAt, x.length);
  return Array.from(heap.subarray(dxAt / 4, dxAt / 4 + x.length));
}

describe('kernelsModule', () => {
  const x = Array.from({ length: 11 }, (_, i) => i - 5.5);
  const dy = Array.from({ length: 11 }, (_, i) => 0.25 * i);
  const expected = x.map((v, i) => 2 * v * dy[i]!);

  it('runs on a plain memory', () => {
    expect(squareGrad(kernelsModule(false), new Wasm.Memory({ initial: 2 }), x, dy)).toEqual(expected);
  });

  it('links to a shared memory (TF.js threaded build) and computes the same', () => {
    const memory = new Wasm.Memory({ initial: 2, maximum: 1024, shared: true });
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(squareGrad(kernelsModule(true), memory, x, dy)).toEqual(expected);
  });

  it('the plain module refuses a shared memory, so the shared variant is needed', () => {
    const memory = new Wasm.Memory({ initial: 2, maximum: 1024, shared: true });
    expect(() => new Wasm.Instance(kernelsModule(false), { env: { memory } })).toThrow();
  });
});

describe('withSharedMemory', () => {
  it('rejects a module whose imports are not one memory', () => {
    // (module (import "env" "f" (func)))
    const funcImport = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0]);
    expect(() => withSharedMemory(funcImport)).toThrow('the only import is not a memory');
  });
});
