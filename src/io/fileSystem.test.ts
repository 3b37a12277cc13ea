import { mkdir, mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { fileSystem, loadModel } from './fileSystem.js';

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [3] });
  const output = tf.layers.dense({ units: 2, name: 'd' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

describe('fileSystem', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('round-trips a model with metadata and replaces old weights on re-save', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fs-'));
    const model = tinyModel();
    model.setUserDefinedMetadata({ classNames: ['a', 'b'] });
    await model.save(fileSystem(dir));
    await model.save(fileSystem(dir));
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);

    const loaded = await loadModel(dir);
    expect(loaded.getUserDefinedMetadata()).toEqual({ classNames: ['a', 'b'] });
    const x = tf.tensor2d([[1, 2, 3]]);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([x, a, b]);
    // A stock loader reads it too: model.json is the standard layers-model format.
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toHaveLength(1);
  });

  it('reads a model .json file of any name, with its weights beside it (a browser download)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fs-'));
    const model = tinyModel();
    await model.save(fileSystem(dir));
    await rename(path.join(dir, 'model.json'), path.join(dir, 'taught.json'));
    const loaded = await loadModel(path.join(dir, 'taught.json'));
    const x = tf.tensor2d([[1, 2, 3]]);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([x, a, b]);
  });

  it('removes the new weights again when model.json cannot be written, and names the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fs-'));
    const model = tinyModel();
    await model.save(fileSystem(path.join(dir, 'ok')));
    // A non-empty directory where the model file goes: writing it fails after the weights are written.
    await mkdir(path.join(dir, 'broken', 'model.json', 'x'), { recursive: true });
    await expect(model.save(fileSystem(path.join(dir, 'broken')))).rejects.toThrow(/broken\/model\.json: cannot write: E[A-Z]+ /);
    expect(await readdir(path.join(dir, 'broken'))).toEqual(['model.json']);
  });

  it('names the file in load errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fs-'));
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: cannot read the model/);
    await writeFile(path.join(dir, 'model.json'), '{oops');
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: not valid JSON/);
  });
});
