import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
// Plain TF.js in Node, not this library: the model saved by the page must stand on its own.
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../examples/web/server.js';
import { ARTIFACTS, launchChromium, ROOT } from './chromium.js';

interface Prediction { pixels: number[]; probabilities: number[]; label: string }
interface DemoState {
  ready: boolean; backend: string; error: string | null; draw: Prediction | null; teach: Prediction | null;
  losses: number[]; tensorsAfterStep: number[]; imagesPerSec: number; trained: boolean;
}

let server: DemoServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];
let downloads: string;

const state = () => page.evaluate(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state);

/** Draws strokes (lists of points in a 0..1 box) on a pad with the mouse: real pointer events. */
async function draw(pad: string, strokes: [number, number][][]): Promise<void> {
  const box = (await page.locator(pad).boundingBox())!;
  for (const stroke of strokes) {
    const [first, ...rest] = stroke;
    await page.mouse.move(box.x + first![0] * box.width, box.y + first![1] * box.height);
    await page.mouse.down();
    for (const [x, y] of rest) await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 4 });
    await page.mouse.up();
  }
}

const ring = (cx: number, cy: number, rx: number, ry: number): [number, number][] =>
  Array.from({ length: 25 }, (_, i) => [cx + rx * Math.sin((i / 24) * 2 * Math.PI), cy - ry * Math.cos((i / 24) * 2 * Math.PI)]);
const DIGITS: Record<string, [number, number][][]> = {
  1: [[[0.5, 0.2], [0.5, 0.8]]],
  0: [ring(0.5, 0.5, 0.2, 0.3)],
  7: [[[0.3, 0.22], [0.7, 0.22], [0.45, 0.8]]],
};

/** Waits for the pad's prediction to settle after drawing (classification runs on the next frame). */
async function prediction(which: 'draw' | 'teach'): Promise<Prediction> {
  await page.waitForFunction((w) => (globalThis as unknown as { demo: { state: DemoState } }).demo.state[w] !== null, which);
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  return (await state())[which]!;
}

beforeAll(async () => {
  // Node's side of the round trip runs on stock cpu; its first tensor prints a tfjs-node advert.
  await tf.setBackend('cpu');
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  await fs.mkdir(ARTIFACTS, { recursive: true });
  downloads = await fs.mkdtemp(path.join(os.tmpdir(), 'web-demo-'));
  server = await startDemoServer();
  browser = await launchChromium();
  page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1000, height: 640 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { demo?: { state: DemoState } }).demo?.state;
    return s?.ready || s?.error;
  }, null, { timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await fs.rm(downloads, { recursive: true, force: true });
});

describe('web demo in Chromium', () => {
  it('loads on wasm with our kernels and no console errors', async () => {
    const s = await state();
    expect(s.error).toBeNull();
    expect(s.ready).toBe(true);
    expect(s.backend).toBe('wasm');
    expect(await page.textContent('#status')).toContain('with mobilenetv2-tfjs SIMD kernels');
    expect(problems).toEqual([]);
  });

  it('classifies digits drawn with pointer events', async () => {
    for (const [digit, strokes] of Object.entries(DIGITS)) {
      await page.click('#draw-clear');
      await draw('#draw-pad', strokes);
      const p = await prediction('draw');
      expect(p.label, `drew a ${digit}; probabilities ${p.probabilities.map((v) => v.toFixed(3))}`).toBe(digit);
    }
    expect(await page.locator('#draw-bars .bar').count()).toBe(3);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-draw.png') });
    // Live classification runs on every stroke: it must not leak.
    const numTensors = () => page.evaluate(() => (globalThis as unknown as { demo: { tf: typeof tf } }).demo.tf.memory().numTensors);
    const before = await numTensors();
    for (let i = 0; i < 3; i++) {
      await page.click('#draw-clear');
      await draw('#draw-pad', DIGITS[1]!);
      await prediction('draw');
    }
    expect(await numTensors()).toBe(before);
  });

  it.each(['webgl', 'cpu'])('classifies on the %s backend too', async (backend) => {
    const other = await browser.newPage();
    try {
      const errors: string[] = [];
      other.on('pageerror', (e) => errors.push(e.message));
      await other.goto(`${server.url}?backend=${backend}`);
      await other.waitForFunction(() => {
        const s = (globalThis as unknown as { demo?: { state: DemoState } }).demo?.state;
        return s?.ready || s?.error;
      }, null, { timeout: 60_000 });
      const box = (await other.locator('#draw-pad').boundingBox())!;
      await other.mouse.move(box.x + 0.5 * box.width, box.y + 0.2 * box.height);
      await other.mouse.down();
      await other.mouse.move(box.x + 0.5 * box.width, box.y + 0.8 * box.height, { steps: 10 });
      await other.mouse.up();
      await other.waitForFunction(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state.draw !== null);
      const s = await other.evaluate(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state);
      expect(s.backend).toBe(backend);
      expect(s.draw!.label).toBe('1');
      expect(errors).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('teaches from webcam frames when a camera exists (Chromium\'s fake camera)', async () => {
    const cameraBrowser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
    try {
      const context = await cameraBrowser.newContext({ permissions: ['camera'] });
      const camera = await context.newPage();
      const errors: string[] = [];
      camera.on('pageerror', (e) => errors.push(e.message));
      await camera.goto(server.url);
      await camera.waitForFunction(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state.ready);
      await camera.click('#tab-teach');
      await camera.click('#webcam');
      await camera.waitForFunction("document.getElementById('video').readyState >= 2");
      for (const index of [0, 0, 1, 1]) await camera.click(`button[data-class="${index}"]`);
      expect(await camera.locator('.thumbs canvas').count()).toBe(4);
      await camera.fill('#epochs', '2');
      await camera.click('#train');
      await camera.waitForFunction(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state.trained, null, { timeout: 60_000 });
      expect((await camera.evaluate(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state)).losses).toHaveLength(2);
      expect(errors).toEqual([]);
    } finally {
      await cameraBrowser.close();
    }
  });

  it('fine-tunes in the page: the loss falls and no tensor leaks across steps', async () => {
    await page.click('#tab-teach');
    type Example = [number, number][][];
    const shapes: Example[][] = [
      [0.3, 0.5, 0.7].map((y): Example => [[[0.2, y], [0.8, y]]]), // A: a bar
      [0.4, 0.5, 0.6].map((c): Example => [ring(c, 0.5, 0.22, 0.3)]), // B: a ring
    ];
    for (const [index, examples] of shapes.entries()) {
      for (const strokes of examples) {
        await draw('#teach-pad', strokes);
        await page.click(`button[data-class="${index}"]`);
      }
    }
    await page.fill('#epochs', '12');
    await page.click('#train');
    await page.waitForFunction(() => (globalThis as unknown as { demo: { state: DemoState } }).demo.state.trained, null, { timeout: 90_000 });
    const s = await state();
    expect(s.error).toBeNull();
    expect(s.losses).toHaveLength(12); // 6 examples, batch 16: one step per epoch
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(s.losses.slice(-3)), `losses ${s.losses.map((l) => l.toFixed(3))}`).toBeLessThan(0.75 * mean(s.losses.slice(0, 3)));
    // Adam's moments appear at the first step; from then on the count must not move.
    expect(new Set(s.tensorsAfterStep.slice(1)).size, `tensors after each step: ${s.tensorsAfterStep}`).toBe(1);
    expect(s.imagesPerSec).toBeGreaterThan(0);
    await draw('#teach-pad', [ring(0.5, 0.5, 0.25, 0.3)]);
    expect((await prediction('teach')).label).toBe('B');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-teach.png') });
    expect(problems).toEqual([]);
  });

  it('saves a model that plain tf.loadLayersModel and the CLI read back with the page predictions', async () => {
    const files: string[] = [];
    page.on('download', async (download) => {
      const file = path.join(downloads, download.suggestedFilename());
      await download.saveAs(file);
      files.push(file);
    });
    await page.click('#save');
    await expect.poll(() => files.length, { timeout: 20_000 }).toBe(2);
    const json = files.find((f) => f.endsWith('.json'))!;
    const teach = (await state()).teach!;

    const modelJson = JSON.parse(await fs.readFile(json, 'utf8'));
    const weights = await fs.readFile(path.join(downloads, modelJson.weightsManifest[0].paths[0]));
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }));
    const { mean, std, classNames } = modelJson.userDefinedMetadata;
    expect(classNames).toEqual(['A', 'B']);
    const probabilities = tf.tidy(() => {
      const x = tf.tensor4d(teach.pixels, [1, 28, 28, 1]).sub(mean[0]).div(std[0]);
      return Array.from(tf.softmax(model.predict(x) as tf.Tensor2D).dataSync());
    });
    probabilities.forEach((p, i) => expect(p).toBeCloseTo(teach.probabilities[i]!, 4));

    // The CLI reads images, so the page's 28×28 input goes through a PNG (8-bit rounding).
    const png = path.join(downloads, 'ring.png');
    await sharp(Buffer.from(teach.pixels.map((v) => Math.round(v * 255))), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(png);
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'predict', '--model', json, png, '--json'], { cwd: ROOT });
    const [result] = JSON.parse(stdout.trim().split('\n').pop()!) as { top: { className: string; probability: number }[] }[];
    expect(result!.top[0]!.className).toBe(teach.label);
    expect(result!.top[0]!.probability).toBeCloseTo(Math.max(...teach.probabilities), 2);
  });
});
