import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Library from '../../src/browser.js';
import { type DemoServer, startDemoServer } from '../../examples/web/server.js';
import { launchChromium } from './chromium.js';

// The library in a page beyond MNIST: an RGB MobileNetV2 at 96 px and α 0.5, torchvision
// weights read from a URL, train() and fineTune(), and our wasm kernels (plain and shared-memory heap)
// against TF.js's own webgl kernels as the reference.
async function inPage(): Promise<unknown> {
  const { library: lib } = (globalThis as unknown as { demo: { library: typeof Library } }).demo;
  const { tf } = lib;
  const build = () => lib.mobileNetV2({ inputShape: [96, 96, 3], alpha: 0.5, numClasses: 5, seed: 3 });
  const x = tf.randomUniform([2, 96, 96, 3], -1, 1, 'float32', 7);
  const forward = (model: ReturnType<typeof build>) => tf.tidy(() => Array.from((model.predict(x) as Library.tf.Tensor).dataSync()));

  await lib.useBackend('wasm');
  const model = build();
  const url = URL.createObjectURL(new Blob([lib.encodeSafetensors(lib.torchStateDict(model)) as Uint8Array<ArrayBuffer>]));
  const ours = forward(model);
  const loaded = build(); // same architecture, other initialization: all weights come from the URL
  await lib.loadTorchWeights(loaded, url);
  const viaTorch = forward(loaded);

  const images = tf.randomUniform([8, 96, 96, 3], 0, 1, 'float32', 1) as Library.tf.Tensor4D;
  const data = lib.tensorDataset(images, [0, 1, 2, 3, 4, 0, 1, 2], { classNames: ['a', 'b', 'c', 'd', 'e'], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  images.dispose();
  const counts: number[] = [];
  const result = await lib.train(loaded, data, { epochs: 3, batchSize: 4, seed: 1, callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) } });
  // fineTune's head-first schedule, as a page would run it (no `out`).
  const staged = await lib.fineTune(loaded, data, { epochs: 2, batchSize: 4, freezeFeatures: true, unfreezeAfter: 1, validationData: data, seed: 1 });
  data.dispose();
  const info = await lib.backendInfo();

  // Reference: TF.js's stock webgl kernels on the same weights.
  await lib.useBackend('webgl');
  const reference = forward(model);
  await lib.useBackend('wasm');
  tf.dispose([x, model, loaded] as never);
  return { ours, viaTorch, reference, counts, losses: result.history.map((h) => h.trainLoss), stages: staged.stages.length, info };
}

let server: DemoServer;
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.each([false, true])('the library in Chromium (cross-origin isolated: %s)', (isolated) => {
  it('RGB 96 px α 0.5: torch weights from a URL, training without leaks, wasm kernels match stock webgl', async () => {
    await server?.close();
    server = await startDemoServer({ isolated });
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForFunction(() => (globalThis as unknown as { demo?: { state: { ready: boolean } } }).demo?.state.ready);
      const r = await page.evaluate(inPage) as {
        ours: number[]; viaTorch: number[]; reference: number[]; counts: number[]; losses: number[]; stages: number;
        info: { name: string; ownKernels: boolean };
      };
      expect(r.info).toMatchObject({ name: 'wasm', ownKernels: true });
      expect(r.viaTorch).toEqual(r.ours);
      const scale = Math.max(...r.reference.map(Math.abs));
      r.ours.forEach((v, i) => expect(Math.abs(v - r.reference[i]!) / scale).toBeLessThan(1e-3));
      expect(r.losses.every(Number.isFinite)).toBe(true);
      expect(r.stages).toBe(2);
      expect(new Set(r.counts).size, `tensors after each epoch: ${r.counts}`).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
