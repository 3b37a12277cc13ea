import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { embeddedMnistDir, loadMnist, MnistDataset } from './mnist.js';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mnist-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

function idx(dims: number[], body: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

async function makeDir(name: string, images: Uint8Array, imageDims: number[], labels: Uint8Array, gz = false): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(dir);
  const write = (file: string, bytes: Uint8Array) => fs.writeFile(path.join(dir, gz ? `${file}.gz` : file), gz ? gzipSync(bytes) : bytes);
  await write('t10k-images-idx3-ubyte', idx(imageDims, images));
  await write('t10k-labels-idx1-ubyte', idx([labels.length], labels));
  return dir;
}

describe('embedded MNIST', () => {
  it('is the original IDX data (md5s from the issue), found through the resolver', async () => {
    const dir = embeddedMnistDir();
    const md5 = async (f: string) => createHash('md5').update(await fs.readFile(path.join(dir, f))).digest('hex');
    expect(await md5('train-images-idx3-ubyte')).toBe('6bbc9ace898e44ae57da46a324031adb');
    expect(await md5('t10k-images-idx3-ubyte')).toBe('2646ac647ad5339dbf082846283269ea');
  });

  it('loads both splits with their sizes and limits', async () => {
    const test = await loadMnist({ split: 'test' });
    expect(test.length).toBe(10000);
    expect(test.inputShape).toEqual([28, 28, 1]);
    expect(test.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const train = await loadMnist({ limit: 100 });
    expect(train.length).toBe(100);
    // The first training labels of MNIST, a well-known sequence.
    expect(Array.from(train.labels().subarray(0, 8))).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
  });

  it('normalizes as (x/255 − 0.1307)/0.3081 in NHWC, straight from the raw file bytes', async () => {
    const raw = await fs.readFile(path.join(embeddedMnistDir(), 't10k-images-idx3-ubyte'));
    const test = await loadMnist({ split: 'test', limit: 10 });
    const before = tf.memory().numTensors;
    const { x, y } = await test.batch([7, 2]);
    expect(x.shape).toEqual([2, 28, 28, 1]);
    expect(y.dtype).toBe('int32');
    const values = await x.data();
    for (const [b, index] of [[0, 7], [1, 2]]) {
      for (let p = 0; p < 784; p++) {
        expect(values[b * 784 + p]).toBeCloseTo((raw[16 + index * 784 + p] / 255 - 0.1307) / 0.3081, 5);
      }
    }
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('shifts augmented images by whole pixels, filling with background', async () => {
    const test = await loadMnist({ split: 'test', limit: 1 });
    const plain = await (await test.batch([0])).x.data();
    // random() = 0 draws the largest negative shift: −2 rows and −2 columns.
    const shifted = await (await test.batch([0], { augment: true, random: () => 0 })).x.data();
    const background = (0 - 0.1307) / 0.3081;
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const expected = r + 2 < 28 && c + 2 < 28 ? plain[(r + 2) * 28 + c + 2] : background;
        expect(shifted[r * 28 + c]).toBeCloseTo(expected, 6);
      }
    }
  });
});

describe('loadMnist with --data-dir', () => {
  const images = new Uint8Array(3 * 784).fill(255);

  it('reads gzipped files', async () => {
    const dir = await makeDir('gz', images, [3, 28, 28], Uint8Array.from([1, 2, 3]), true);
    const data = await loadMnist({ split: 'test', dataDir: dir });
    expect(Array.from(data.labels())).toEqual([1, 2, 3]);
  });

  it('rejects label count != image count, labels out of range, wrong image size, naming the file', async () => {
    const count = await makeDir('count', images, [3, 28, 28], Uint8Array.from([1, 2]));
    await expect(loadMnist({ split: 'test', dataDir: count }))
      .rejects.toThrow(`${path.join(count, 't10k-labels-idx1-ubyte')}: label count must equal the image count 3`);
    const range = await makeDir('range', images, [3, 28, 28], Uint8Array.from([1, 10, 3]));
    await expect(loadMnist({ split: 'test', dataDir: range })).rejects.toThrow('labels must be 0 to 9; received 10 at index 1');
    const size = await makeDir('size', images, [3, 56, 14], Uint8Array.from([1, 2, 3]));
    await expect(loadMnist({ split: 'test', dataDir: size }))
      .rejects.toThrow(`${path.join(size, 't10k-images-idx3-ubyte')}: MNIST images must have dimensions [N, 28, 28]; received [3, 56, 14]`);
  });

  it('rejects a missing directory, a file, or a directory without the files', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(loadMnist({ dataDir: missing })).rejects.toThrow(`${missing}: data directory does not exist`);
    const file = path.join(tmp, 'file');
    await fs.writeFile(file, '');
    await expect(loadMnist({ dataDir: file })).rejects.toThrow('data directory is not a directory');
    const empty = path.join(tmp, 'empty');
    await fs.mkdir(empty);
    await expect(loadMnist({ dataDir: empty })).rejects.toThrow(/no MNIST images file; expected one of train-images-idx3-ubyte,/);
  });
});

describe('MnistDataset', () => {
  it('checks its normalization options and indices', async () => {
    const labels = Int32Array.from([0]);
    expect(() => new MnistDataset(new Uint8Array(784), labels, { std: 0 })).toThrow('std must be a finite number > 0');
    expect(() => new MnistDataset(new Uint8Array(783), labels)).toThrow('784 bytes per label');
    await expect(new MnistDataset(new Uint8Array(784), labels).batch([1])).rejects.toThrow(RangeError);
  });
});
