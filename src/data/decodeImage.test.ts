import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pngHeader } from '../../test/pngHeader.js';
import { decodeImage, MAX_INPUT_PIXELS, probeImage } from './decodeImage.js';

const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

describe('decodeImage on large and broken files', () => {
  // First in this file, so that the process's peak RSS is still its start-up one.
  it('decodes 8000×8000 photos with torchvision\'s eval transform in bounded memory, even 6 at once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'decode-'));
    const jpeg = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#3060a0' } }).jpeg().toBuffer();
    const files = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const file = path.join(dir, `${i}.jpg`);
      await writeFile(file, jpeg);
      return file;
    }));
    const before = peakRssBytes();
    const decoded = await Promise.all(files.map((file) => decodeImage(file, [32, 32, 3], { resize: 36 })));
    const grown = peakRssBytes() - before;
    expect(decoded.every((pixels) => pixels.length === 32 * 32 * 3 && Math.abs(pixels[0]! - 0x30) <= 1)).toBe(true);
    // Each holds 192 MB of pixels while it is resampled: without the budget they grow the peak by ~800 MB here.
    expect(grown).toBeLessThan(600 * 2 ** 20);
  });

  it('says in one line why a file cannot be decoded', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'decode-'));
    const empty = path.join(dir, 'empty.png');
    await writeFile(empty, '');
    const text = path.join(dir, 'text.jpg');
    await writeFile(text, 'hello');
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).png().toBuffer();
    for (const [input, message] of [
      [empty, 'empty file (0 bytes)'],
      [text, 'not a PNG, JPEG, WebP or GIF image'],
      [png.subarray(0, 30), 'truncated or corrupt: Input buffer has corrupt header'],
    ] as const) {
      const exactly = new RegExp(`^${message.replace(/[()]/g, '\\$&')}$`);
      await expect(decodeImage(input, [8, 8, 3])).rejects.toThrow(exactly);
      await expect(decodeImage(input, [8, 8, 3], { resize: 8 })).rejects.toThrow(exactly);
    }
    const huge = pngHeader(20_000, 20_000);
    expect(20_000 * 20_000).toBeGreaterThan(MAX_INPUT_PIXELS);
    const refusal = '20000x20000 (400 MP) is over the decode limit of 268 MP; downscale it first';
    await expect(probeImage(huge)).rejects.toThrow(refusal);
    await expect(decodeImage(huge, [8, 8, 1])).rejects.toThrow(refusal);
    await expect(decodeImage(huge, [8, 8, 1], { resize: 8 })).rejects.toThrow(refusal);
  });
});
