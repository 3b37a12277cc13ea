// Image folders as users have them, through `mobilenetv2 finetune --data`: 10,000 files with a
// few bad ones, a symbolic-link loop, names with spaces and non-ASCII letters, an 8000×8000
// image and one over the decode limit.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLine, runCli } from './cliProcess.js';
import { pngHeader } from './pngHeader.js';

const FINETUNE = ['finetune', '--arch', 'mnist', '--alpha', '0.25', '--input-size', '16', '--epochs', '1', '--batch-size', '256',
  '--val-split', '0.05', '--seed', '1', '--progress', 'none', '--backend', 'wasm', '--json'];

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'image-folder-cli-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

/** A few distinct 8×8 PNGs per class, so that 10,000 files cost 10,000 small writes, not encodes. */
async function variants(level: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: 8 }, (_, v) => {
    const pixels = Buffer.from(Array.from({ length: 64 }, (_, i) => Math.min(255, level + ((i * 7 + v * 13) % 40))));
    return sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  }));
}

/** Exactly one line of stderr names `file`: the warning that says why it was skipped. */
function expectNamedOnce(stderr: string, file: string, reason: string | RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.includes(file));
  expect(lines, `${file} in:\n${stderr}`).toHaveLength(1);
  const [line] = lines;
  if (typeof reason === 'string') expect(line).toBe(`warning: skipping ${file}: ${reason}`);
  else expect(line!.slice(`warning: skipping ${file}: `.length)).toMatch(reason);
}

// libvips words a file cut short differently from run to run; the first words are ours.
const TRUNCATED = /^cannot decode it \(truncated or corrupt: .+\)$/;

const CLASSES = ['café', 'chat noir', '日本'];

describe('finetune --data on a folder of 10,000 files', () => {
  it('names each bad file once, passes over a symbolic-link loop, and trains on the rest', async () => {
    const data = path.join(tmp, 'ten thousand');
    const levels = [20, 120, 220];
    let good = 0;
    for (const [c, name] of CLASSES.entries()) {
      const dir = path.join(data, name);
      await fs.mkdir(dir, { recursive: true });
      const pngs = await variants(levels[c]!);
      const count = c === 0 ? 3334 : 3333;
      await Promise.all(Array.from({ length: count }, (_, i) => fs.writeFile(path.join(dir, `image ${String(i).padStart(4, '0')} é.png`), pngs[i % pngs.length]!)));
      good += count;
    }
    const png = (await variants(100))[0]!;
    const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const bad: [string, Buffer | string, string | RegExp][] = [
      ['café/random bytes.png', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97) % 256)), 'cannot decode it (not a PNG, JPEG, WebP or GIF image)'],
      ['café/cut short.png', png.subarray(0, 40), TRUNCATED],
      ['chat noir/cut short.jpg', jpeg.subarray(0, jpeg.length >> 1), TRUNCATED],
      ['日本/empty.png', Buffer.alloc(0), 'cannot decode it (empty file (0 bytes))'],
      ['日本/notes.jpg', 'a text file named like a photo', 'cannot decode it (not a PNG, JPEG, WebP or GIF image)'],
      ['chat noir/scan.bmp', Buffer.from('BM'), '.bmp images are not read (expected .png, .jpg, .jpeg, .webp, .gif); convert it'],
    ];
    for (const [file, bytes] of bad) await fs.writeFile(path.join(data, file), bytes);
    await fs.writeFile(path.join(data, 'chat noir', 'README.txt'), 'not an image, and not worth a warning');
    await fs.symlink('..', path.join(data, '日本', 'back to the top'));
    expect((await fs.readdir(data, { recursive: true })).length).toBeGreaterThan(10_000);

    const out = path.join(tmp, 'run');
    const result = await runCli([...FINETUNE, '--data', data, '--out', out]);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    for (const [file, , reason] of bad) expectNamedOnce(result.stderr, path.join(data, file), reason);
    expectNamedOnce(result.stderr, path.join(data, '日本', 'back to the top'), 'a symbolic link back to a folder that contains it (a loop); not followed');
    expect(result.stderr).not.toContain('README.txt');
    const summary = JSON.parse(lastLine(result.stdout));
    expect(summary.classes).toEqual(CLASSES);
    expect(summary.trainImages + summary.valImages).toBe(good);
    const metadata = JSON.parse(await fs.readFile(path.join(out, 'model.json'), 'utf8')).userDefinedMetadata;
    expect(metadata.classNames).toEqual(CLASSES);
  });
});

describe('finetune --data, bad files and huge images', () => {
  async function smallFolder(name: string, perClass: number): Promise<string> {
    const data = path.join(tmp, name);
    for (const [c, cls] of ['a b', 'ü'].entries()) {
      await fs.mkdir(path.join(data, cls), { recursive: true });
      const pngs = await variants(40 + 150 * c);
      for (let i = 0; i < perClass; i++) await fs.writeFile(path.join(data, cls, `${i}.png`), pngs[i % pngs.length]!);
    }
    return data;
  }

  it('streamed from disk (--cache stream), names a file that fails only when decoded once over two epochs', async () => {
    const data = await smallFolder('streamed', 30);
    const png = (await variants(100))[0]!;
    // Cut inside the pixel data: the header check passes, the decode fails.
    const truncated = path.join(data, 'ü', 'cut.png');
    await fs.writeFile(truncated, png.subarray(0, png.length - 20));
    const result = await runCli([...FINETUNE, '--data', data, '--cache', 'stream', '--epochs', '2', '--batch-size', '8', '--out', path.join(tmp, 'streamed-run')]);
    expect(result.code, result.stderr).toBe(0);
    expectNamedOnce(result.stderr, truncated, TRUNCATED);
  });

  it('fails in one line when more than 5% of the images cannot be decoded', async () => {
    const data = await smallFolder('mostly bad', 10);
    for (let i = 0; i < 3; i++) await fs.writeFile(path.join(data, 'a b', `bad ${i}.png`), 'x');
    const result = await runCli([...FINETUNE, '--data', data, '--out', path.join(tmp, 'bad-run')]);
    expect(result.code).toBe(2);
    expect(lastLine(result.stderr)).toBe(`error: ${data}: 3 of 23 images cannot be decoded (more than maxCorruptFraction=0.05, --max-corrupt-fraction on the CLI), e.g. ${path.join(data, 'a b', 'bad 0.png')}`);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error'))).toHaveLength(1);
    // A higher threshold lets the same folder through, each bad file named once.
    const allowed = await runCli([...FINETUNE, '--data', data, '--max-corrupt-fraction', '0.2', '--epochs', '1', '--batch-size', '8', '--out', path.join(tmp, 'bad-allowed')]);
    expect(allowed.code, allowed.stderr).toBe(0);
    for (let i = 0; i < 3; i++) expect(allowed.stderr.split(path.join(data, 'a b', `bad ${i}.png`)).length - 1).toBe(1);
  });

  it('decodes an 8000×8000 image and refuses one over the pixel limit, in one line', async () => {
    const data = await smallFolder('huge', 30);
    await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#c01e5a' } }).png().toFile(path.join(data, 'a b', 'poster.png'));
    const tooLarge = path.join(data, 'ü', 'panorama.png');
    await fs.writeFile(tooLarge, pngHeader(40_000, 20_000));
    const result = await runCli([...FINETUNE, '--data', data, '--out', path.join(tmp, 'huge-run')]);
    expect(result.code, result.stderr).toBe(0);
    expectNamedOnce(result.stderr, tooLarge, 'cannot decode it (40000x20000 (800 MP) is over the decode limit of 268 MP; downscale it first)');
    expect(result.stderr).not.toContain('poster.png');
    const summary = JSON.parse(lastLine(result.stdout));
    expect(summary.trainImages + summary.valImages).toBe(61);
  });
});
