import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as browser from './browser.js';
import { InputError } from './errors.js';
import * as node from './index.js';

const here = import.meta.dirname;
const swaps = readdirSync(here, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.browser.ts'));

describe('one API for Node and the browser', () => {
  it('the Node entry exports everything the browser entry does, the same objects', () => {
    for (const [name, value] of Object.entries(browser)) expect(node[name as keyof typeof node], name).toBe(value);
  });

  it.each(swaps)('%s exports only names its Node module has, of the same kind', async (swap) => {
    const stub = await import(path.join(here, swap));
    const original = await import(path.join(here, swap.replace(/\.browser\.ts$/, '.ts')));
    for (const [name, value] of Object.entries(stub)) {
      expect(name in original, `${swap} exports ${name}, which its Node module lacks`).toBe(true);
      // MetricsLog is a class in Node and a plain object with the static `open` in the stub.
      if (typeof value === 'function') expect(typeof original[name], name).toBe('function');
    }
  });
});

describe('Node-only functions in a page', () => {
  const rejects = (promise: Promise<unknown>, message: string) => expect(promise).rejects.toThrow(expect.objectContaining({
    name: 'InputError', message: expect.stringContaining(message),
  }) as unknown as InputError);

  it('say what needs Node and what to do instead', async () => {
    const { fileSystem, loadModel } = await import('./io/fileSystem.browser.js');
    expect(() => fileSystem('runs/x')).toThrow("fileSystem('runs/x') needs Node (a web page has no file system); in a page save to 'downloads://name'");
    await rejects(loadModel('runs/x'), "load with tf.loadLayersModel('runs/x/model.json') from a URL instead");
    const { MetricsLog } = await import('./training/metricsLog.browser.js');
    await rejects(MetricsLog.open('runs/x'), "train's `out` option (`out=\"runs/x\"`) writes checkpoints, metrics and plots, so it needs Node");
    const { saveCheckpoint } = await import('./training/checkpoint.browser.js');
    await rejects(saveCheckpoint('runs/x'), "saveCheckpoint('runs/x') needs Node");
    const { writePlots } = await import('./training/plots.browser.js');
    await rejects(writePlots('runs/x'), "writePlots('runs/x') needs Node");
    const { writeConfusionMatrix } = await import('./finetune/confusion.browser.js');
    await rejects(writeConfusionMatrix('runs/x'), "writeConfusionMatrix('runs/x') needs Node");
    const { resolveWorkers } = await import('./parallel/workers.browser.js');
    expect(resolveWorkers('auto')).toBe(1);
    expect(() => resolveWorkers(2)).toThrow("workers: 2 needs Node (a web page has no file system); pass workers: 1 or 'auto'");
    const { spawnWorker } = await import('./parallel/thread.browser.js');
    expect(() => spawnWorker()).toThrow('data-parallel worker threads needs Node');
    const { writeBytes } = await import('./io/bytes.browser.js');
    await rejects(writeBytes('w.safetensors'), 'w.safetensors: a web page cannot write files');
  });

  it('useBackend refuses the native backends with the alternatives', async () => {
    const { useBackend } = await import('./backend/useBackend.browser.js');
    await rejects(useBackend('tensorflow'), "backend 'tensorflow' needs Node (libtensorflow); in a web page use 'auto', 'webgl', 'wasm' or 'cpu'");
    await rejects(useBackend('gpu' as never), "backend must be one of 'auto', 'cuda', 'tensorflow', 'webgl', 'wasm', 'cpu'; received `backend=\"gpu\"`");
  });

  it("Node's useBackend refuses webgl", async () => {
    await rejects(node.useBackend('webgl'), "backend 'webgl' needs a web page (WebGL); in Node use 'auto', 'wasm' or 'cpu'");
  });
});
