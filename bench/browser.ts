/**
 * Training speed in headless Chromium: `npm run bench:browser [-- --steps 10 --slow-steps 3]`.
 *
 * The seed MNIST model (mobileNetV2Mnist(), α = 1) at batch 64, trained by this library's
 * `train()` on random images in the demo page (examples/web), on each backend the page has:
 * wasm with our kernels, in a page without and with cross-origin isolation (COOP/COEP; with it
 * TF.js picks its threaded wasm build), webgl (SwiftShader when there is no GPU) and cpu.
 * TF.js's wasm build runs min(requested, hardwareConcurrency / 2) threads, i.e. 1 on a 2-core
 * machine; the last page reports hardwareConcurrency 4 so that it runs 2. Node's wasm figure comes from the same code in
 * this process, in the same run. One JSON line per configuration, then the load average.
 * Epoch 1 warms up; the figure is epoch 2's training img/s. The wasm configurations repeat in
 * `--rounds` interleaved rounds (default 2), so that a busy machine's drift hits them alike.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { mobileNetV2Mnist, tensorDataset, tf, train, useBackend } from '../src/index.js';
import { startDemoServer } from '../examples/web/server.js';
import { launchChromium } from '../test/browser/chromium.js';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '10' }, 'slow-steps': { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' } },
});
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const slowSteps = Number(values['slow-steps']);
const BATCH = 64;

interface Figure { where: string; backend: string; threads: number; imagesPerSec: number }
const figures: Figure[] = [];
const report = (figure: Figure) => {
  figures.push(figure);
  console.log(JSON.stringify({ ...figure, imagesPerSec: Math.round(figure.imagesPerSec * 10) / 10 }));
};

async function inNode(): Promise<void> {
  await useBackend('wasm');
  const model = mobileNetV2Mnist({ seed: 1 });
  const n = steps * BATCH;
  const images = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const data = tensorDataset(images, Array.from({ length: n }, (_, i) => i % 10), { classNames: [...'0123456789'], mean: [0.1307], std: [0.3081] });
  images.dispose();
  const result = await train(model, data, { epochs: 2, batchSize: BATCH, seed: 1 });
  report({ where: 'node', backend: 'wasm', threads: 1, imagesPerSec: result.history[1]!.trainImagesPerSec });
  data.dispose();
  model.dispose();
}

async function inChromium(isolated: boolean, query: string, runs: [backend: string, steps: number][], cores?: number): Promise<void> {
  const server = await startDemoServer({ isolated });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    if (cores) await page.addInitScript(`Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => ${cores} })`);
    await page.goto(`${server.url}?backend=wasm${query}`);
    await page.waitForFunction(() => (globalThis as unknown as { demo: { state: { ready: boolean } } }).demo.state.ready, null, { timeout: 60_000 });
    for (const [backend, n] of runs) {
      const r = await page.evaluate(([b, s, batch]) => (globalThis as unknown as {
        demo: { bench(b: string, s: number, batch: number): Promise<{ backend: string; threads: number; imagesPerSec: number }> };
      }).demo.bench(b as string, s as number, batch as number), [backend, n, BATCH] as const);
      report({ where: `chromium${isolated ? ' isolated' : ''}${cores ? `, hardwareConcurrency ${cores}` : ''}`, ...r });
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

for (let round = 1; round <= rounds; round++) {
  await inNode();
  await inChromium(false, '', round === 1 ? [['wasm', steps], ['webgl', slowSteps], ['cpu', slowSteps]] : [['wasm', steps]]);
  await inChromium(true, '', [['wasm', steps]]);
  await inChromium(true, '&threads=2', [['wasm', steps]], 4);
}
console.log(JSON.stringify({ loadavg: loadavg().map((l) => Math.round(l * 100) / 100) }));
