/**
 * Generates a small image-classification folder of typeset digits, DIR/<digit>/<n>.<ext>, for
 * tests and for the fine-tuning comparison. The glyphs come from SVG text in several fonts,
 * weights and slants, with random size, rotation, offset, stroke and pixel noise: a different
 * style from MNIST's handwriting, so a model must adapt to it. Most images are grayscale PNGs;
 * a fraction are RGB JPEGs (coloured glyph on a coloured background, larger, so they are
 * resized), and a few are WebP or GIF. The same seed gives the same files.
 *
 *   npx tsx scripts/make-image-folder.ts --out data/digits --per-class 60 --seed 1
 *   npx tsx scripts/make-image-folder.ts --out data/digits-test --per-class 30 --seed 2
 *   npx tsx scripts/make-image-folder.ts --out data/three --per-class 20 --digits 147 --size 224 --seed 1
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { seededRandom } from '../src/training/random.js';

export interface MakeImageFolderOptions {
  /** Images per class. Default 50. */
  perClass?: number;
  /** Side of the grayscale PNGs in pixels. Default 28. */
  size?: number;
  /** Fraction of images written as RGB JPEGs at 1.5× the size. Default 0.15. */
  rgbFraction?: number;
  /** Classes to draw, each a digit glyph. Default '0123456789'. */
  digits?: string;
  /** Default 0. */
  seed?: number;
}

const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'DejaVu Sans Condensed', 'DejaVu Serif Condensed'];

function glyphSvg(digit: string, size: number, random: () => number, colours: { fg: string; bg: string }): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const fontSize = size * (0.6 + random() * 0.35);
  const angle = (random() * 2 - 1) * 18;
  const dx = (random() * 2 - 1) * size * 0.1;
  const dy = (random() * 2 - 1) * size * 0.1;
  const stroke = random() < 0.3 ? (random() * size) / 40 : 0;
  const c = size / 2;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">` +
    `<rect width="${size}" height="${size}" fill="${colours.bg}"/>` +
    `<text x="${c}" y="${c}" text-anchor="middle" dominant-baseline="central" ` +
    `font-family="${pick(FONTS)}" font-size="${fontSize.toFixed(2)}" font-weight="${pick(['normal', 'bold'])}" ` +
    `font-style="${pick(['normal', 'normal', 'italic'])}" fill="${colours.fg}" stroke="${colours.fg}" stroke-width="${stroke.toFixed(2)}" ` +
    `transform="translate(${dx.toFixed(2)} ${dy.toFixed(2)}) rotate(${angle.toFixed(1)} ${c} ${c})">${digit}</text></svg>`
  );
}

/** Adds uniform noise of ±amplitude to raw uint8 pixels, in place. */
function addNoise(pixels: Buffer, amplitude: number, random: () => number): void {
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = Math.max(0, Math.min(255, Math.round(pixels[i] + (random() * 2 - 1) * amplitude)));
  }
}

const hex = (v: number) => Math.round(v).toString(16).padStart(2, '0');
const rgb = (r: number, g: number, b: number) => `#${hex(r)}${hex(g)}${hex(b)}`;

/**
 * Writes the folder and returns the number of images per class. Existing files with the same
 * names are overwritten; nothing else in `dir` is touched.
 *
 * @example
 * await makeImageFolder('tmp/digits', { perClass: 4, size: 16, seed: 1 });
 */
export async function makeImageFolder(dir: string, options: MakeImageFolderOptions = {}): Promise<number> {
  const perClass = options.perClass ?? 50;
  const size = options.size ?? 28;
  const rgbFraction = options.rgbFraction ?? 0.15;
  const digits = options.digits ?? '0123456789';
  const random = seededRandom(options.seed ?? 0);
  for (const digit of digits) {
    const classDir = path.join(dir, digit);
    await fs.mkdir(classDir, { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const name = path.join(classDir, String(n).padStart(4, '0'));
      const noise = random() * 40;
      const format = random();
      if (format < rgbFraction) {
        const big = Math.round(size * 1.5);
        const hue = random();
        const fg = rgb(180 + 75 * hue, 255 - 60 * hue, 120 + 100 * random());
        const bg = rgb(60 * random(), 40 * random(), 70 * random());
        const { data, info } = await sharp(Buffer.from(glyphSvg(digit, big, random, { fg, bg }))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        addNoise(data, noise, random);
        await sharp(data, { raw: info }).jpeg({ quality: 85 }).toFile(`${name}.jpg`);
        continue;
      }
      const level = 170 + random() * 85;
      const svg = glyphSvg(digit, size, random, { fg: rgb(level, level, level), bg: '#000000' });
      let image = sharp(Buffer.from(svg)).removeAlpha().toColourspace('b-w');
      if (random() < 0.25) image = image.blur(0.3 + random() * 0.7);
      const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
      addNoise(data, noise, random);
      const out = sharp(data, { raw: info });
      const ext = format > 0.97 ? 'gif' : format > 0.94 ? 'webp' : 'png';
      await (ext === 'gif' ? out.gif() : ext === 'webp' ? out.webp({ lossless: true }) : out.png()).toFile(`${name}.${ext}`);
    }
  }
  return perClass;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'per-class': { type: 'string', default: '50' },
      size: { type: 'string', default: '28' },
      'rgb-fraction': { type: 'string', default: '0.15' },
      seed: { type: 'string', default: '0' },
      digits: { type: 'string', default: '0123456789' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.out) {
    process.stdout.write('usage: npx tsx scripts/make-image-folder.ts --out DIR [--per-class 50] [--size 28] [--rgb-fraction 0.15] [--digits 0123456789] [--seed 0]\n');
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const perClass = await makeImageFolder(values.out, {
    perClass: Number(values['per-class']),
    size: Number(values.size),
    rgbFraction: Number(values['rgb-fraction']),
    seed: Number(values.seed),
    digits: values.digits,
  });
  process.stdout.write(`wrote ${perClass} images per class for ${values.digits.length} classes to ${values.out}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  });
}
