import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { useBackend } from './useBackend.js';

const require = createRequire(import.meta.url);
function installed(pkg: string): string | null {
  try {
    require.resolve(pkg);
    return null;
  } catch {
    return `${pkg} is not installed here`;
  }
}
const noNode = installed('@tensorflow/tfjs-node');
const noNodeGpu = installed('@tensorflow/tfjs-node-gpu');
if (noNode) console.info(`skipping the tfjs-node success paths: ${noNode}`);
if (noNodeGpu) console.info(`skipping the tfjs-node-gpu success paths: ${noNodeGpu}`);

describe('useBackend', () => {
  it("wasm: initializes, removes emscripten's crash listeners and keeps every user handler", async () => {
    const before: NodeJS.UncaughtExceptionListener = () => {};
    const during: NodeJS.UnhandledRejectionListener = () => {};
    const after: NodeJS.UncaughtExceptionListener = () => {};
    process.on('uncaughtException', before);
    const existing = { uncaught: process.listeners('uncaughtException'), unhandled: process.listeners('unhandledRejection') };
    const addedDuringInit: unknown[] = [];
    const watch = (event: string | symbol, listener: unknown) => {
      if (event === 'uncaughtException' || event === 'unhandledRejection') addedDuringInit.push(listener);
    };
    process.on('newListener', watch);
    const pending = useBackend('wasm');
    // Added while the backend initializes, as concurrent user code might.
    process.on('unhandledRejection', during);
    expect(await pending).toBe('wasm');
    process.removeListener('newListener', watch);
    process.on('uncaughtException', after);
    expect(tf.getBackend()).toBe('wasm');

    // Emscripten did add its listeners during init (so this test checks something) ...
    const emscripten = addedDuringInit.filter((l) => l !== during);
    expect(emscripten.length).toBeGreaterThan(0);
    // ... and exactly those are gone: what was there before, and the user's, remain.
    expect(process.listeners('uncaughtException')).toEqual([...existing.uncaught, after]);
    expect(process.listeners('unhandledRejection')).toEqual([...existing.unhandled, during]);
    expect(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])).toBe(3);
    process.removeListener('uncaughtException', before);
    process.removeListener('unhandledRejection', during);
    process.removeListener('uncaughtException', after);
  });

  it('cpu: initializes without the "install tfjs-node" banner', async () => {
    // test/setup.ts silences the banner for every test file; turn it back on to see useBackend do it.
    (tf.findBackend('cpu') as { firstUse?: boolean }).firstUse = true;
    const warn = vi.spyOn(console, 'warn');
    expect(await useBackend('cpu')).toBe('cpu');
    tf.tidy(() => tf.ones([2]).dataSync());
    expect(warn.mock.calls.flat().join(' ')).not.toMatch(/tfjs-node/);
    warn.mockRestore();
  });

  it.skipIf(noNode === null)('tensorflow without tfjs-node: one-line InputError that says how to fix it', async () => {
    const error = await useBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/@tensorflow\/tfjs-node is not installed.*npm i @tensorflow\/tfjs-node/);
    expect((error as Error).message).not.toContain('\n');
  });

  it.skipIf(noNodeGpu === null)('cuda without tfjs-node-gpu: names CUDA and cuDNN versions', async () => {
    const error = await useBackend('cuda').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/npm i @tensorflow\/tfjs-node-gpu.*CUDA 11\.2.*cuDNN 8\.1/);
    expect((error as Error).message).not.toContain('\n');
  });

  it.skipIf(noNode !== null)('tensorflow: loads tfjs-node', async () => {
    expect(await useBackend('tensorflow')).toBe('tensorflow');
  });

  it('auto: the first backend that loads (wasm here unless tfjs-node is installed)', async () => {
    const expected = noNodeGpu === null || noNode === null ? 'tensorflow' : 'wasm';
    expect(await useBackend('auto')).toBe(expected);
  });

  it('rejects unknown names with the allowed list', async () => {
    await expect(useBackend('gpu' as never)).rejects.toThrow(/backend must be one of 'auto', .*received `backend="gpu"`/);
  });
});
