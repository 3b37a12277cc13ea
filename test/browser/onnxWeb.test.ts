import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Library from '../../src/browser.js';
import { launchChromium, ROOT } from './chromium.js';

type Ort = typeof import('onnxruntime-web');

// In a page: the library's browser build exports MobileNetV2s (exportOnnx), onnxruntime-web's
// wasm backend runs the files, and their outputs equal TF.js's for the same model in the same
// page. Everything is served from this machine: the page bundle (built as a user's bundler
// would, from the package's "browser" export) and onnxruntime-web's wasm files from its package.
async function inPage(): Promise<unknown> {
  const { lib, ort } = (globalThis as unknown as { onnxTest: { lib: typeof Library; ort: Ort } }).onnxTest;
  const { tf } = lib;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = 1;
  await lib.useBackend('wasm');
  const cases: [string, Library.MobileNetV2Options, 'nchw' | 'nhwc'][] = [
    ['α 0.35, 96 px, classifier, NCHW', { alpha: 0.35, inputShape: [96, 96, 3], numClasses: 5 }, 'nchw'],
    ['α 0.5, 64×48, softmax, NHWC', { alpha: 0.5, inputShape: [64, 48, 3], numClasses: 4, classifierActivation: 'softmax' }, 'nhwc'],
    ['α 1, 64 px, feature map, NHWC', { alpha: 1, inputShape: [64, 64, 3], includeTop: false }, 'nhwc'],
    ['seed MNIST model, NCHW', { inputShape: [28, 28, 1], numClasses: 10, invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2]], lastChannels: 64 }, 'nchw'],
  ];
  const results = [];
  for (const [name, options, layout] of cases) {
    const model = lib.mobileNetV2({ ...options, seed: 3 });
    // BatchNorm statistics that matter, so folding them is tested.
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const [c] = layer.getWeights()[0]!.shape as [number];
      const values = [tf.randomUniform([c], 0.5, 1.5), tf.randomUniform([c], -0.5, 0.5), tf.randomNormal([c], 0, 0.3), tf.randomUniform([c], 0.3, 2)];
      layer.setWeights(values);
      tf.dispose(values);
    }
    const shape = [2, ...options.inputShape!] as [number, number, number, number];
    const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
    const tfjs = tf.tidy(() => {
      const y = model.predict(x) as Library.tf.Tensor;
      return Array.from((y.rank === 4 && layout === 'nchw' ? tf.transpose(y, [0, 3, 1, 2]) : y).dataSync());
    });
    const bytes = await lib.exportOnnx(model, { layout });
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const input = layout === 'nchw' ? tf.tidy(() => tf.transpose(x, [0, 3, 1, 2])) : x.clone();
    const feeds = { input: new ort.Tensor('float32', input.dataSync() as Float32Array, input.shape) };
    const out = await session.run(feeds);
    const onnx = Array.from(out[session.outputNames[0]!]!.data as Float32Array);
    // Latency of one image, TF.js vs onnxruntime-web, both single-threaded wasm (for the demo's choice).
    const one = tf.slice(x, 0, 1);
    const oneInput = new ort.Tensor('float32', (layout === 'nchw' ? tf.tidy(() => tf.transpose(one, [0, 3, 1, 2])) : one).dataSync() as Float32Array, layout === 'nchw' ? [1, shape[3], shape[1], shape[2]] : [1, ...shape.slice(1)]);
    const time = async (f: () => Promise<unknown> | unknown) => {
      for (let i = 0; i < 3; i++) await f();
      const started = performance.now();
      for (let i = 0; i < 10; i++) await f();
      return (performance.now() - started) / 10;
    };
    const tfjsMs = await time(() => tf.tidy(() => (model.predict(one) as Library.tf.Tensor).dataSync()));
    const ortMs = await time(() => session.run({ input: oneInput }));
    await session.release();
    tf.dispose([x, input, one]);
    model.dispose();
    results.push({ name, tfjs, onnx, output: session.outputNames[0], tfjsMs, ortMs });
  }
  return { results, tensors: tf.memory().numTensors };
}

let server: http.Server;
let url: string;
let browser: Browser;

beforeAll(async () => {
  const bundle = await build({
    stdin: {
      contents: "import * as lib from 'mobilenetv2-tfjs'; import * as ort from 'onnxruntime-web/wasm'; globalThis.onnxTest = { lib, ort };",
      resolveDir: ROOT, loader: 'ts',
    },
    bundle: true, splitting: true, format: 'esm', platform: 'browser', target: 'es2022', outdir: '/', write: false, logLevel: 'error',
  });
  const files = new Map(bundle.outputFiles.map((f) => [f.path, f.contents]));
  const entry = [...files.keys()].find((f) => f.startsWith('/stdin'))!;
  const ortDist = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
  server = http.createServer(async (request, response) => {
    const name = new URL(request.url ?? '/', 'http://localhost').pathname;
    let body: Uint8Array | string | undefined = name === '/' ? `<!doctype html><script type="module" src="${entry}"></script>` : files.get(name);
    if (body === undefined && /^\/ort\/ort-wasm-simd-threaded\.(wasm|mjs)$/.test(name)) body = await fs.readFile(path.join(ortDist, path.basename(name)));
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    const type = name === '/' ? 'text/html' : name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    response.writeHead(200, { 'Content-Type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('exported files in onnxruntime-web (wasm) in Chromium', () => {
  it('give the outputs TF.js gives in the same page', async () => {
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => 'onnxTest' in globalThis);
      const r = await page.evaluate(inPage) as {
        results: { name: string; tfjs: number[]; onnx: number[]; output: string; tfjsMs: number; ortMs: number }[];
        tensors: number;
      };
      for (const c of r.results) {
        const scale = Math.max(...c.tfjs.map(Math.abs));
        const diff = Math.max(...c.onnx.map((v, i) => Math.abs(v - c.tfjs[i]!)));
        expect(c.onnx.length, c.name).toBe(c.tfjs.length);
        expect(diff / scale, c.name).toBeLessThan(1e-4);
        console.info(`${c.name}: '${c.output}', one image ${c.tfjsMs.toFixed(2)} ms on TF.js wasm, ${c.ortMs.toFixed(2)} ms on onnxruntime-web`);
      }
      expect(r.results.map((c) => c.output)).toEqual(['logits', 'probabilities', 'features', 'logits']);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 180_000);
});
