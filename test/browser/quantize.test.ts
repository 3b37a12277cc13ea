import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Plain TF.js in Node reads what the page downloaded: the file must stand on its own.
import * as tf from '@tensorflow/tfjs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Library from '../../src/browser.js';
import { type DemoServer, startDemoServer } from '../../examples/web/server.js';
import { launchChromium } from './chromium.js';

// In the page: an RGB model at 96 px, its float32 logits, and a uint8 copy saved through
// quantizedHandler to 'downloads://', TF.js's browser download router.
async function inPage(): Promise<unknown> {
  const { library: lib } = (globalThis as unknown as { demo: { library: typeof Library } }).demo;
  const { tf: ptf } = lib;
  await lib.useBackend('wasm');
  const model = lib.mobileNetV2({ inputShape: [96, 96, 3], alpha: 0.35, numClasses: 4, seed: 2 });
  const x = ptf.randomUniform([2, 96, 96, 3], -1, 1, 'float32', 5);
  const logits = ptf.tidy(() => Array.from((model.predict(x) as Library.tf.Tensor).dataSync()));
  const input = Array.from(x.dataSync());
  const before = ptf.memory().numTensors;
  await model.save(lib.quantizedHandler('downloads://digits-uint8', { quantize: 'uint8' }));
  const leaked = ptf.memory().numTensors - before;
  ptf.dispose([x, model] as never);
  return { logits, input, leaked };
}

let server: DemoServer;
let browser: Browser;
let downloads: string;
beforeAll(async () => {
  browser = await launchChromium();
  server = await startDemoServer({ isolated: false });
  downloads = await fs.mkdtemp(path.join(os.tmpdir(), 'quantized-download-'));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await fs.rm(downloads, { recursive: true, force: true });
});

describe('quantizedHandler in Chromium', () => {
  it("downloads a uint8 model through 'downloads://' that stock TF.js in Node loads, close to the page's float32 logits", async () => {
    const page = await browser.newPage({ acceptDownloads: true });
    try {
      const files: string[] = [];
      page.on('download', async (download) => {
        const file = path.join(downloads, download.suggestedFilename());
        await download.saveAs(file);
        files.push(file);
      });
      await page.goto(server.url);
      await page.waitForFunction(() => (globalThis as unknown as { demo?: { state: { ready: boolean } } }).demo?.state.ready);
      const r = await page.evaluate(inPage) as { logits: number[]; input: number[]; leaked: number };
      await expect.poll(() => files.length, { timeout: 20_000 }).toBe(2);
      expect(r.leaked).toBe(0);

      const json = JSON.parse(await fs.readFile(files.find((f) => f.endsWith('.json'))!, 'utf8'));
      const specs = json.weightsManifest[0].weights as tf.io.WeightsManifestEntry[];
      expect(new Set(specs.map((s) => s.quantization?.dtype))).toEqual(new Set(['uint8', 'float16']));
      const weights = await fs.readFile(path.join(downloads, json.weightsManifest[0].paths[0]));
      const bytes = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (s.quantization!.dtype === 'uint8' ? 1 : 2), 0);
      expect(weights.byteLength).toBe(bytes);

      await tf.setBackend('cpu');
      const model = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: json.modelTopology, weightSpecs: specs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }));
      const logits = tf.tidy(() => Array.from((model.predict(tf.tensor4d(r.input, [2, 96, 96, 3])) as tf.Tensor).dataSync()));
      const scale = Math.max(...r.logits.map(Math.abs));
      const error = Math.max(...logits.map((v, i) => Math.abs(v - r.logits[i]!)));
      expect(error / scale).toBeLessThan(0.05);
      expect(error).toBeGreaterThan(0);
      model.dispose();
    } finally {
      await page.close();
    }
  });
});
