import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { backendFactory, CAST_SITES, INTERNALS, shareBuffer, wasmMemoryOf, webAssembly } from './internals.js';
import { useBackend } from './useBackend.js';

const isFunction = (v: unknown) => typeof v === 'function';
/** The members of `object` (own or inherited) that are not functions, among `names`. */
const missingMethods = (object: object, names: string[]) => names.filter((n) => !isFunction((object as Record<string, unknown>)[n]));

/** One check per entry of INTERNALS, keyed by the start of its `what`: each fails when the installed TF.js lacks it. */
const CHECKS: Record<string, () => Promise<void> | void> = {
  'BackendWasm.wasm': async () => {
    await useBackend('wasm');
    const memory = wasmMemoryOf(tf.backend() as BackendWasm);
    expect(memory?.buffer.byteLength).toBeGreaterThan(0);
  },
  'BackendWasm.dataIdMap': async () => {
    await useBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    expect(missingMethods(backend, ['makeOutput', 'disposeData', 'typedArrayFromHeap', 'incRef'])).toEqual([]);
    const t = tf.tensor([1, 2, 3]);
    expect(typeof backend.dataIdMap.get(t.dataId)?.memoryOffset).toBe('number');
    t.dispose();
  },
  'MathBackendCPU.data': async () => {
    await useBackend('cpu');
    const backend = tf.backend() as unknown as { data: { get(id: object): { values?: unknown } } };
    expect(missingMethods(backend, ['makeTensorInfo', 'incRef'])).toEqual([]);
    const t = tf.tensor([1, 2, 3]);
    expect(backend.data.get(t.dataId).values).toBeInstanceOf(Float32Array);
    t.dispose();
  },
  'KernelBackend.incRef': async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const t = tf.tensor([1, 2, 3]);
      const info = shareBuffer(tf.backend(), t);
      t.dispose();
      // The shared buffer outlives the tensor it came from.
      expect(Array.from(tf.backend().readSync(info.dataId) as Float32Array)).toEqual([1, 2, 3]);
      tf.backend().disposeData(info.dataId);
    }
  },
  'MathBackendCPU.firstUse': () => {
    const cpu = tf.findBackend('cpu') as unknown as Record<string, unknown>;
    expect(Object.hasOwn(cpu, 'firstUse')).toBe(true);
    expect(typeof cpu.firstUse).toBe('boolean');
  },
  'Engine.registryFactory': () => {
    const wasm = backendFactory('wasm');
    expect(isFunction(wasm?.factory)).toBe(true);
    expect(typeof wasm?.priority).toBe('number');
  },
  'Engine.registeredVariables': () => {
    const v = tf.variable(tf.scalar(1));
    expect(tf.engine().registeredVariables[v.name]).toBe(v);
    expect(missingMethods(tf.engine(), ['runKernel', 'isTapeOn'])).toEqual([]);
    v.dispose();
  },
  'GradConfig.inputsToSave': async () => {
    await useBackend('cpu');
    const seen: { values: number[][]; ids: object[]; calls: string[] } = { values: [], ids: [], calls: [] };
    const config: GradConfig = {
      kernelName: 'Square',
      inputsToSave: ['x'],
      outputsToSave: [true],
      gradFunc: (dy, saved) => {
        seen.values = (saved as Tensor[]).map((t) => Array.from(t.dataSync()));
        seen.ids = (saved as Tensor[]).map((t) => t.dataId);
        return { x: () => (seen.calls.push('x'), tf.mul(dy as Tensor, 2)) };
      },
    };
    const stock = tf.getGradient('Square')!;
    tf.registerGradient(config);
    try {
      const x = tf.tensor([3, 4]);
      let y: Tensor | undefined;
      const g = tf.grad((v: Tensor) => (y = tf.square(v)))(x);
      // Clones of the inputs named, then of the outputs marked.
      expect(seen.values).toEqual([[3, 4], [9, 16]]);
      expect(seen.ids[0]).toBe(x.dataId);
      expect(seen.ids[1]).toBe(y!.dataId);
      expect(seen.calls).toEqual(['x']);
      tf.dispose([x, g]);
    } finally {
      tf.registerGradient(stock);
    }
  },
  "Identity (tensor clones)": async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const x = tf.tensor([1, 2]);
      const c = tf.clone(x);
      expect(c.dataId).toBe(x.dataId);
      tf.dispose([x, c]);
    }
  },
  "AdamOptimizer's protected": () => {
    const adam = tf.train.adam(0.1, 0.8, 0.9, 1e-3) as unknown as Record<string, unknown>;
    expect([adam.learningRate, adam.beta1, adam.beta2, adam.epsilon]).toEqual([0.1, 0.8, 0.9, 1e-3]);
    expect(missingMethods(adam, ['incrementIterations', 'extractIterations', 'saveIterations'])).toEqual([]);
    expect(adam.iterations).toBe(0);
    (adam as unknown as tf.Optimizer).dispose();
  },
  'Optimizer[Symbol.hasInstance]': () => {
    // Were this gone, FusedAdamOptimizer's own Symbol.hasInstance could go too.
    const duck = { minimize: () => null, computeGradients: () => null, applyGradients: () => null };
    expect(duck instanceof tf.AdamOptimizer).toBe(true);
  },
  'Sequential.model': () => {
    const sequential = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    tf.tidy(() => void sequential.predict(tf.zeros([1, 3]))); // builds the inner model
    const inner = (sequential as unknown as { model: unknown }).model;
    expect(inner instanceof tf.LayersModel && 'nodesByDepth' in inner).toBe(true);
    sequential.dispose();
  },
};

describe('INTERNALS: what this library relies on beyond the documented TF.js API', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });

  it('has exactly one check per entry', () => {
    const checkFor = (what: string) => Object.keys(CHECKS).filter((key) => what.startsWith(key));
    for (const { what } of INTERNALS) expect(checkFor(what), what).toHaveLength(1);
    expect(Object.keys(CHECKS).every((key) => INTERNALS.some((entry) => entry.what.startsWith(key)))).toBe(true);
  });

  it.each(INTERNALS.map((entry) => [entry.what.slice(0, 60), entry] as const))('%s…: still in the installed TF.js', async (_label, entry) => {
    await CHECKS[Object.keys(CHECKS).find((key) => entry.what.startsWith(key))!]!();
  });

  it('the WebAssembly global has what webAssembly() types', () => {
    const api = webAssembly();
    expect([api.Module, api.Instance, api.Memory].every(isFunction)).toBe(true);
  });
});

describe('CAST_SITES', () => {
  const src = fileURLToPath(new URL('..', import.meta.url));
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) && !/\.test\.ts$/.test(f) ? [p] : [];
  });

  it('are the only files of src/ with `as unknown as` casts', () => {
    const casting = files(src).filter((f) => readFileSync(f, 'utf8').includes('as unknown as')).map((f) => relative(src, f).split('\\').join('/'));
    expect(casting.filter((f) => !CAST_SITES.includes(f))).toEqual([]);
  });
});
