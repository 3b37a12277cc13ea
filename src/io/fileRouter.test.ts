import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { filePathOf } from './fileRouter.js';

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [4] });
  const hidden = tf.layers.dense({ units: 3, activation: 'relu', name: 'h' }).apply(input) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 2, name: 'out' }).apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

async function predictions(model: tf.LayersModel): Promise<number[]> {
  const x = tf.tensor2d([[1, -2, 3, 0.5], [0, 1, -1, 2]]);
  const y = model.predict(x) as tf.Tensor;
  const values = Array.from(await y.data());
  tf.dispose([x, y]);
  return values;
}

describe('file:// routers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('maps a URL to a path as tfjs-node does', () => {
    expect(filePathOf('file:///tmp/a b/model.json')).toBe('/tmp/a b/model.json');
    expect(filePathOf('file://runs/x')).toBe('runs/x');
  });

  it('saves with model.save and loads with tf.loadLayersModel, metadata included, atomically', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'file-url-')), 'nested', 'model');
    const model = tinyModel();
    const metadata = { classNames: ['cat', 'dog'], mean: [0.5], nested: { a: [1, 2] } };
    model.setUserDefinedMetadata(metadata);
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((4 * 3 + 3 + 3 * 2 + 2) * 4);
    await model.save(`file://${dir}`);
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);

    const before = tf.memory().numTensors;
    for (const url of [`file://${dir}/model.json`, `file://${dir}`]) {
      const loaded = await tf.loadLayersModel(url);
      expect(loaded.getUserDefinedMetadata()).toEqual(metadata);
      expect(await predictions(loaded)).toEqual(await predictions(model));
      loaded.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('names the file when there is no model', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'file-url-'));
    await expect(tf.loadLayersModel(`file://${dir}/model.json`)).rejects.toThrow(`${dir}/model.json: cannot read the model`);
  });

  it('leaves other schemes alone', () => {
    expect(tf.io.getSaveHandlers('mystery://x')).toHaveLength(0);
    expect(tf.io.getLoadHandlers('http://127.0.0.1/model.json')).toHaveLength(1); // TF.js's http handler only
    expect(tf.io.getSaveHandlers(['file:///a', 'file:///b'])).toHaveLength(0);
  });

  // Last: the router registered here stays for the rest of this file's process.
  it("steps aside when another file:// router is registered (tfjs-node's), whatever the import order", async () => {
    const saved: string[] = [];
    tf.io.registerSaveRouter(((url: string | string[]) =>
      typeof url === 'string' && url.startsWith('file://')
        ? { save: async () => (saved.push(url), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) }
        : null) as Parameters<typeof tf.io.registerSaveRouter>[0]);
    expect(tf.io.getSaveHandlers('file:///tmp/x')).toHaveLength(1);
    const model = tinyModel();
    await model.save('file:///tmp/elsewhere');
    expect(saved).toEqual(['file:///tmp/elsewhere']);
    // Loading still has only ours, so it still answers.
    expect(tf.io.getLoadHandlers('file:///tmp/x/model.json')).toHaveLength(1);
    model.dispose();
  });
});
