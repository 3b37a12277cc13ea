import { expect, it } from 'vitest';
import { tf } from '../tf.js';

it("tf.setBackend('wasm') leaves no emscripten listeners: importing the library wrapped wasm's factory", async () => {
  const existing = { uncaught: process.listeners('uncaughtException'), unhandled: process.listeners('unhandledRejection') };
  const added: unknown[] = [];
  const watch = (event: string | symbol, listener: unknown) => {
    if (event === 'uncaughtException' || event === 'unhandledRejection') added.push(listener);
  };
  process.on('newListener', watch);
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
  process.removeListener('newListener', watch);
  // Emscripten did add them (so this checks something), and they are gone again.
  expect(added.length).toBeGreaterThan(0);
  expect(process.listeners('uncaughtException')).toEqual(existing.uncaught);
  expect(process.listeners('unhandledRejection')).toEqual(existing.unhandled);
  // Still the highest-priority backend, and working.
  expect(tf.engine().backendNames()).toContain('wasm');
  expect(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])).toBe(3);
});
