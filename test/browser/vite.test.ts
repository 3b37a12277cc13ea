import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, createLogger, createServer } from 'vite';
import { launchChromium, ROOT } from './chromium.js';

// A user's fresh Vite project: it imports the package by name and configures nothing (no
// polyfills, no wasm paths, no optimizeDeps). The package is linked in as npm would.
const MAIN = `
import { mobileNetV2Mnist, tensorDataset, tf, train, useBackend, backendInfo } from 'mobilenetv2-tfjs';

const backend = await useBackend('auto');
const model = mobileNetV2Mnist({ alpha: 0.35, seed: 1 });
const images = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
const data = tensorDataset(images, [0, 1, 2, 3, 4, 5, 6, 7], { classNames: [...'0123456789'] });
images.dispose();
const result = await train(model, data, { epochs: 1, batchSize: 4, seed: 1 });
window.result = { backend, info: await backendInfo(), steps: result.history.length, loss: result.history[0].trainLoss };
`;

let project: string;
const warnings: string[] = [];

beforeAll(async () => {
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'vite-app-'));
  await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await fs.writeFile(path.join(project, 'index.html'), '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/main.js"></script>');
  await fs.writeFile(path.join(project, 'main.js'), MAIN);
  await fs.mkdir(path.join(project, 'node_modules'));
  await fs.symlink(ROOT, path.join(project, 'node_modules', 'mobilenetv2-tfjs'), 'dir');
  const logger = createLogger('warn');
  logger.warn = (message) => warnings.push(message);
  logger.warnOnce = (message) => warnings.push(message);
  await build({ root: project, configFile: false, logLevel: 'warn', customLogger: logger, build: { target: 'es2022', chunkSizeWarningLimit: 10_000 } });
});

afterAll(() => fs.rm(project, { recursive: true, force: true }));

describe('a fresh Vite project importing mobilenetv2-tfjs', () => {
  it('builds for the browser with no Node modules and no warnings', async () => {
    expect(warnings).toEqual([]);
    const assets = path.join(project, 'dist', 'assets');
    const files = (await fs.readdir(assets)).filter((f) => f.endsWith('.js'));
    const code = (await Promise.all(files.map((f) => fs.readFile(path.join(assets, f), 'utf8')))).join('\n');
    // Module specifiers and markers, not bare words: the ImageNet class names hold "pencil sharpener".
    for (const nodeOnly of ['node:fs', 'node:path', '"sharp"', "'sharp'", '@img/sharp', 'cli-progress', 'vega-lite', 'process.stderr']) {
      expect(code.includes(nodeOnly), `bundle contains ${nodeOnly}`).toBe(false);
    }
    // The embedded TF.js wasm binaries are a chunk of their own, fetched only when wasm starts.
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it('runs under the Vite dev server too', async () => {
    const server = await createServer({ root: project, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
    await server.listen();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => 'result' in globalThis, null, { timeout: 90_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { result: unknown }).result)).toMatchObject({ backend: 'wasm', steps: 1 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it('trains in Chromium from the built files alone', async () => {
    const dist = path.join(project, 'dist');
    const server = http.createServer(async (request, response) => {
      const name = request.url === '/' ? '/index.html' : request.url!.split('?')[0]!;
      const body = await fs.readFile(path.join(dist, path.normalize(name))).catch(() => null);
      const type = name.endsWith('.js') ? 'text/javascript' : 'text/html';
      if (body) response.writeHead(200, { 'Content-Type': type }).end(body);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      await page.waitForFunction(() => 'result' in globalThis, null, { timeout: 60_000 });
      const result = await page.evaluate(() => (globalThis as unknown as { result: unknown }).result);
      expect(result).toMatchObject({ backend: 'wasm', info: { name: 'wasm', ownKernels: true, threads: 1 }, steps: 1 });
      expect(Number.isFinite((result as { loss: number }).loss)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
