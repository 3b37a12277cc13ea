import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { tf } from '../tf.js';
import { imageFolder } from './imageFolder.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'imagefolder-'));
}

/** Writes raw uint8 pixels (HWC) as an image file; the format follows the extension. */
async function writeImage(file: string, pixels: number[], width: number, height: number, channels: 1 | 3): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const image = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  const ext = path.extname(file);
  const encoded = ext === '.jpg' ? image.jpeg({ quality: 100 }) : ext === '.webp' ? image.webp({ lossless: true }) : ext === '.gif' ? image.gif() : image.png();
  await encoded.toFile(file);
}

const gray = (value: number, size = 4) => new Array<number>(size * size).fill(value);

/** A folder with classes 'a' and 'b', `n` flat gray images each (a: 40, b: 200). */
async function twoClasses(n: number): Promise<string> {
  const dir = await tempDir();
  for (let i = 0; i < n; i++) {
    await writeImage(path.join(dir, 'a', `${i}.png`), gray(40), 4, 4, 1);
    await writeImage(path.join(dir, 'b', `${i}.png`), gray(200), 4, 4, 1);
  }
  return dir;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (m) => warnings.push(m) };
}

/** sRGB → linear → Rec. 709 luminance → sRGB: what libvips' 'b-w' computes, written independently. */
function srgbLuminance(r: number, g: number, b: number): number {
  const linear = (v: number) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return 255 * (y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055);
}

describe('imageFolder', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('decodes every format, resizes, and converts grayscale to RGB and back', async () => {
    const dir = await tempDir();
    const ramp = Array.from({ length: 16 }, (_, i) => i * 16);
    await writeImage(path.join(dir, 'gray', 'ramp.png'), ramp, 4, 4, 1);
    await writeImage(path.join(dir, 'gray', 'ramp.webp'), ramp, 4, 4, 1);
    await writeImage(path.join(dir, 'gray', 'ramp.gif'), ramp, 4, 4, 1);
    const red = Array.from({ length: 64 }, () => [255, 0, 0]).flat();
    await writeImage(path.join(dir, 'red', 'big.jpg'), red, 8, 8, 3);

    const rgb = await imageFolder(dir, { inputShape: [4, 4, 3], mean: [0], std: [1] });
    expect(rgb.classNames).toEqual(['gray', 'red']);
    expect(rgb.files.map((f) => path.basename(f))).toEqual(['ramp.gif', 'ramp.png', 'ramp.webp', 'big.jpg']);
    const { x, y } = await rgb.batch([0, 1, 2, 3]);
    expect(x.shape).toEqual([4, 4, 4, 3]);
    expect(Array.from(await y.data())).toEqual([0, 0, 0, 1]);
    const pixels = (await x.array()) as number[][][][];
    for (const image of [0, 1, 2]) {
      // Gray → RGB replicates the channel; lossless formats keep the exact values.
      const flat = pixels[image].flat();
      expect(flat.map((p) => p[0] * 255)).toEqual(ramp.map((v) => expect.closeTo(v, 3)));
      expect(flat.every((p) => p[0] === p[1] && p[1] === p[2])).toBe(true);
    }
    // The 8×8 JPEG was resized to 4×4 and stays red (JPEG is lossy, hence the tolerance).
    for (const p of pixels[3].flat()) expect(p.map((v) => v * 255)).toEqual([expect.closeTo(254, -1), expect.closeTo(0, -1), expect.closeTo(0, -1)]);
    tf.dispose([x, y]);

    const mono = await imageFolder(dir, { inputShape: [2, 2, 1], mean: [0], std: [1] });
    const batch = await mono.batch([3]);
    expect(batch.x.shape).toEqual([1, 2, 2, 1]);
    const value = (await batch.x.data())[0] * 255;
    expect(value).toBeCloseTo(srgbLuminance(255, 0, 0), -1);
    tf.dispose([batch.x, batch.y]);
  });

  it('normalizes with the given mean and std per channel', async () => {
    const dir = await twoClasses(1);
    const folder = await imageFolder(dir, { inputShape: [4, 4, 3], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] });
    const { x, y } = await folder.batch([1]);
    const first = ((await x.array()) as number[][][][])[0][0][0];
    const v = 200 / 255;
    expect(first[0]).toBeCloseTo((v - 0.1) / 0.5, 5);
    expect(first[1]).toBeCloseTo((v - 0.2) / 0.25, 5);
    expect(first[2]).toBeCloseTo((v - 0.3) / 2, 5);
    tf.dispose([x, y]);
  });

  it('sorts classes by code unit, like torchvision, and includes nested folders', async () => {
    const dir = await tempDir();
    for (const name of ['b', 'a', 'B', '10', '9']) await writeImage(path.join(dir, name, 'x.png'), gray(1), 4, 4, 1);
    await writeImage(path.join(dir, 'a', 'nested', 'deeper.png'), gray(1), 4, 4, 1);
    const folder = await imageFolder(dir, { inputShape: [4, 4, 1] });
    expect(folder.classNames).toEqual(['10', '9', 'B', 'a', 'b']);
    expect(Array.from(folder.labels())).toEqual([0, 1, 2, 3, 3, 4]);
  });

  it('counts files with other extensions and says so', async () => {
    const dir = await twoClasses(2);
    await writeFile(path.join(dir, 'a', 'notes.txt'), 'hello');
    await writeFile(path.join(dir, 'b', 'scan.bmp'), 'x');
    await writeFile(path.join(dir, 'b', 'other.txt'), 'x');
    await writeFile(path.join(dir, 'README'), 'x');
    const folder = await imageFolder(dir, { inputShape: [4, 4, 1] });
    expect(folder.length).toBe(4);
    expect(folder.summary.ignored).toEqual({ '.txt': 2, '.bmp': 1, '': 1 });
    expect(folder.describe()).toContain('4 other files ignored (');
    expect(folder.describe()).toContain('.txt: 2');
    // An image format it does not read is named; plain other files are only counted.
    expect(folder.summary.skipped).toEqual([{ path: path.join(dir, 'b', 'scan.bmp'), reason: expect.stringMatching(/^\.bmp images are not read/) }]);
  });

  it('passes over symbolic-link loops and unreadable folders, naming each once, and stops when aborted', async () => {
    const dir = await twoClasses(2);
    await symlink('..', path.join(dir, 'a', 'up'));
    await symlink('.', path.join(dir, 'b', 'self'));
    await symlink(path.join(dir, 'a'), path.join(dir, 'b', 'sideways'));
    const logger = recordingLogger();
    const folder = await imageFolder(dir, { inputShape: [4, 4, 1], logger });
    // 'sideways' is no loop: class b includes a's images through it, as torchvision's ImageFolder (followlinks) does.
    expect(folder.length).toBe(6);
    expect(logger.warnings.sort()).toEqual([
      `skipping ${path.join(dir, 'a', 'up')}: a symbolic link back to a folder that contains it (a loop); not followed`,
      `skipping ${path.join(dir, 'b', 'self')}: a symbolic link back to a folder that contains it (a loop); not followed`,
      `skipping ${path.join(dir, 'b', 'sideways', 'up')}: a symbolic link back to a folder that contains it (a loop); not followed`,
    ]);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(imageFolder(dir, { inputShape: [4, 4, 1], signal: controller.signal })).rejects.toThrow('stop');
  });

  it('skips a corrupt image with a warning naming it, and fails above maxCorruptFraction', async () => {
    const dir = await twoClasses(5);
    const bad = path.join(dir, 'b', 'broken.png');
    await writeFile(bad, 'not a png');
    for (const cache of ['memory', 'stream'] as const) {
      const logger = recordingLogger();
      const folder = await imageFolder(dir, { inputShape: [4, 4, 1], cache, logger, maxCorruptFraction: 0.2 });
      expect(folder.length).toBe(10);
      expect(folder.files).not.toContain(bad);
      expect(folder.summary.corrupt).toEqual([bad]);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toContain(bad);
    }
    await expect(imageFolder(dir, { inputShape: [4, 4, 1], maxCorruptFraction: 0.05 })).rejects.toThrow(
      new RegExp(`^${dir}: 1 of 11 images cannot be decoded .*broken\\.png$`),
    );
  });

  it('streams truncated images that pass the header check, dropping them from the batch', async () => {
    const dir = await twoClasses(4);
    const good = await sharp(Buffer.from(gray(9, 64)), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
    const truncated = path.join(dir, 'a', 'truncated.png');
    await writeFile(truncated, good.subarray(0, good.length - 30));
    const logger = recordingLogger();
    const folder = await imageFolder(dir, { inputShape: [4, 4, 1], cache: 'stream', logger, maxCorruptFraction: 0.5 });
    expect(folder.summary.mode).toBe('stream');
    const index = folder.files.indexOf(truncated);
    expect(index).toBeGreaterThanOrEqual(0);
    const { x, y } = await folder.batch([0, index, 5]);
    expect(x.shape[0]).toBe(2);
    expect(y.shape[0]).toBe(2);
    expect(logger.warnings.join('\n')).toContain(truncated);
    tf.dispose([x, y]);
  });

  it('streamed batches equal cached ones; auto picks by size and says which', async () => {
    const dir = await twoClasses(3);
    const memory = await imageFolder(dir, { inputShape: [4, 4, 3] });
    const stream = await imageFolder(dir, { inputShape: [4, 4, 3], maxCacheBytes: 10 });
    expect(memory.summary.mode).toBe('memory');
    expect(stream.summary.mode).toBe('stream');
    expect(memory.describe()).toContain('cached in memory');
    expect(stream.describe()).toContain('decoded per batch');
    const [a, b] = [await memory.batch([5, 0, 3]), await stream.batch([5, 0, 3])];
    expect(await b.x.array()).toEqual(await a.x.array());
    expect(Array.from(await b.y.data())).toEqual([1, 0, 1]);
    tf.dispose([a.x, a.y, b.x, b.y]);
  });

  it('rejects bad folders with one line naming the folder', async () => {
    const missing = path.join(tmpdir(), 'no-such-folder-xyz');
    await expect(imageFolder(missing, { inputShape: [4, 4, 1] })).rejects.toThrow(`${missing}: does not exist; expected a directory`);

    const flat = await tempDir();
    await writeImage(path.join(flat, 'x.png'), gray(1), 4, 4, 1);
    await expect(imageFolder(flat, { inputShape: [4, 4, 1] })).rejects.toThrow(`${flat}: no class folders`);
    await expect(imageFolder(path.join(flat, 'x.png'), { inputShape: [4, 4, 1] })).rejects.toThrow(`${path.join(flat, 'x.png')}: is not a folder`);

    const single = await tempDir();
    await writeImage(path.join(single, 'only', 'x.png'), gray(1), 4, 4, 1);
    await expect(imageFolder(single, { inputShape: [4, 4, 1] })).rejects.toThrow(`${single}: only one class folder ('only')`);

    const empty = await twoClasses(1);
    await mkdir(path.join(empty, 'c'));
    await expect(imageFolder(empty, { inputShape: [4, 4, 1] })).rejects.toThrow(`${path.join(empty, 'c')}: empty class folder`);

    const noImages = await tempDir();
    for (const c of ['a', 'b']) {
      await mkdir(path.join(noImages, c));
      await writeFile(path.join(noImages, c, 'x.txt'), '');
    }
    await expect(imageFolder(noImages, { inputShape: [4, 4, 1] })).rejects.toThrow(`${noImages}: no images (.png`);

    const dir = await twoClasses(1);
    await expect(imageFolder(dir, { inputShape: [4, 4, 2] })).rejects.toThrow('inputShape must be [height, width, channels] with channels 1 or 3');
    await expect(imageFolder(dir, { inputShape: [4, 4, 3], std: [1, 0, 1] })).rejects.toThrow('std must be 1 or 3 finite numbers (one per channel), each > 0');
    for (const error of await Promise.allSettled([imageFolder(missing, { inputShape: [4, 4, 1] })])) {
      expect(String((error as PromiseRejectedResult).reason.message)).not.toContain('\n');
    }
  });

  it('applies augmentation only when asked, and leaks no tensors', async () => {
    const dir = await tempDir();
    const ramp = Array.from({ length: 16 }, (_, i) => (i % 4) * 60);
    await writeImage(path.join(dir, 'a', 'x.png'), ramp, 4, 4, 1);
    await writeImage(path.join(dir, 'b', 'x.png'), ramp, 4, 4, 1);
    const folder = await imageFolder(dir, { inputShape: [4, 4, 1], mean: [0], std: [1], augment: { flip: true } });
    const before = tf.memory().numTensors;
    const plain = await folder.batch([0]);
    const flipped = await folder.batch([0], { augment: true, random: () => 0 });
    const row = (t: tf.Tensor) => Array.from(t.dataSync().slice(0, 4), (v) => Math.round(v * 255));
    expect(row(plain.x)).toEqual([0, 60, 120, 180]);
    expect(row(flipped.x)).toEqual([180, 120, 60, 0]);
    tf.dispose([plain.x, plain.y, flipped.x, flipped.y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
