import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { decodeImage, EXACT_RESIZE_MAX_PIXELS } from './decodeImage.js';
import { resizeCropGeometry, scaledResize } from './evalTransform.js';
import { preprocessImage } from './preprocess.js';
import { resampleBilinear } from './resampleBilinear.js';

// torchvision's Resize + CenterCrop (+ ToTensor + Normalize) on the same images:
// scripts/make_preprocess_fixtures.py.
const DIR = fileURLToPath(new URL('../../test/fixtures/preprocess/', import.meta.url));
interface Case { image: string; resize: number; crop: number; resizedWH: [number, number]; samples: [number, number, number, number][] }
const cases: Record<string, Case> = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8'));

describe("torchvision's eval transform", () => {
  beforeAll(() => tf.setBackend('cpu'));

  it.each(Object.entries(cases))('%s: same geometry and pixels as torchvision', async (name, c) => {
    const meta = await sharp(`${DIR}${c.image}`).metadata();
    const g = resizeCropGeometry(meta.width!, meta.height!, c.resize, [c.crop, c.crop]);
    expect([g.width, g.height]).toEqual(c.resizedWH);
    const ours = await decodeImage(`${DIR}${c.image}`, [c.crop, c.crop, 3], { resize: c.resize });
    const { data, info } = await sharp(`${DIR}${name}.png`).raw().toBuffer({ resolveWithObject: true });
    expect([info.height, info.width, info.channels]).toEqual([c.crop, c.crop, 3]);
    // Tolerance 0: for images under 4 megapixels the resampling is PIL's own algorithm, so any
    // difference at all is a geometry or filter bug (a 1 px shift moves the checkerboard edges by ~190).
    let max = 0;
    for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(ours[i] - data[i]));
    expect(max).toBe(0);
  });

  it.each(Object.entries(cases))('%s: normalized values match ToTensor + Normalize within 1e-5', async (_, c) => {
    const before = tf.memory().numTensors;
    const x = await preprocessImage(`${DIR}${c.image}`, { inputShape: [c.crop, c.crop, 3], resize: c.resize });
    const values = await x.data();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const [y, px, ch, want] of c.samples) expect(Math.abs(values[(y * c.crop + px) * 3 + ch] - want)).toBeLessThan(1e-5);
  });

  it('defaults to IMAGENET1K_V2 (232 → 224), scaled for other sizes', async () => {
    expect(scaledResize({ resizeSize: 232, cropSize: 224 }, [224, 224])).toBe(232);
    expect(scaledResize({ resizeSize: 232, cropSize: 224 }, [96, 96])).toBe(99);
    expect(scaledResize({ resizeSize: 256, cropSize: 224 }, [160, 160])).toBe(183);
    // Non-square: the longer side, so the crop fits inside the resized image either way.
    expect(scaledResize({ resizeSize: 232, cropSize: 224 }, [67, 45])).toBe(69);
    const c = cases.landscape_232_224;
    const x = await preprocessImage(`${DIR}${c.image}`);
    const [y, px, ch, want] = c.samples[0];
    expect(x.shape).toEqual([224, 224, 3]);
    expect(Math.abs((await x.data())[(y * 224 + px) * 3 + ch] - want)).toBeLessThan(1e-5);
    x.dispose();
  });

  it('Python rounds the crop offset half to even', () => {
    // (233 - 224) / 2 = 4.5 → 4 and (235 - 224) / 2 = 5.5 → 6 in Python; Math.round would give 5 and 6.
    expect(resizeCropGeometry(233, 400, 233, [224, 224]).left).toBe(4);
    expect(resizeCropGeometry(235, 400, 235, [224, 224]).left).toBe(6);
  });

  it('shrinks photos above 4 megapixels with libvips within 2 levels of PIL\'s algorithm, alpha dropped as PIL does', async () => {
    // A smooth RGBA picture of 2,400 × 1,800 with colour stored under an alpha ramp.
    const [w, h] = [2400, 1800];
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        rgba.set([128 + 100 * Math.sin(x / 90) * Math.cos(y / 230), (255 * (x + y)) / (w + h), 128 + 120 * Math.sin(y / 150), (255 * x) / w], i);
      }
    }
    expect(w * h).toBeGreaterThan(EXACT_RESIZE_MAX_PIXELS);
    const png = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
    const ours = await decodeImage(png, [224, 224, 3], { resize: 232 });
    // The reference: PIL's resampling (resampleBilinear, checked pixel for pixel against
    // torchvision above) of the RGB channels, then the center crop.
    const rgb = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++) rgb.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
    const g = resizeCropGeometry(w, h, 232, [224, 224]);
    const resized = resampleBilinear(rgb, w, h, 3, g.width, g.height);
    let max = 0;
    for (let y = 0; y < 224; y++) {
      for (let x = 0; x < 224 * 3; x++) max = Math.max(max, Math.abs(ours[y * 224 * 3 + x]! - resized[(y + g.top) * g.width * 3 + g.left * 3 + x]!));
    }
    expect(max).toBeLessThanOrEqual(2);
  });

  it('refuses bad input in one line naming it', async () => {
    await expect(preprocessImage(`${DIR}expected.json`)).rejects.toThrow(/expected\.json: cannot read the image .*; expected a PNG, JPEG, WebP or GIF$/);
    await expect(preprocessImage(`${DIR}${cases.landscape_232_224.image}`, { resize: 100 })).rejects.toThrow('resize must be an integer >= the crop (224); received `resize=100`');
  });
});
