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
 *   npx tsx scripts/make-image-folder.ts --out data/shapes --per-class 20 --shapes --size 224 --seed 1
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
  /**
   * Draw shapes instead of digits: classes 'circle', 'square' and 'triangle', each filled or
   * outlined (so the amount of ink does not tell them apart), at random sizes, angles and
   * offsets, with the same colours, noise, blur and formats. Default false.
   */
  shapes?: boolean;
  /** Draw stripes instead: classes 'horizontal', 'vertical' and 'diagonal', of random period, width, phase and extent. Default false. */
  stripes?: boolean;
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

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const STRIPES = ['horizontal', 'vertical', 'diagonal'] as const;

/** Stripes of a random period, width and phase in a random rectangle, at the class's angle ±12° ('diagonal': 45° or 135°). */
function stripesSvg(kind: string, size: number, random: () => number, colours: { fg: string; bg: string }): string {
  const base = kind === 'horizontal' ? 0 : kind === 'vertical' ? 90 : random() < 0.5 ? 45 : 135;
  const angle = base + (random() * 2 - 1) * 12;
  const period = size * (0.06 + random() * 0.14);
  const width = period * (0.3 + random() * 0.4);
  const phase = random() * period;
  const [w, h] = [size * (0.5 + random() * 0.5), size * (0.5 + random() * 0.5)];
  const [x, y] = [random() * (size - w), random() * (size - h)];
  const c = size / 2;
  const bars = Array.from({ length: Math.ceil((3 * size) / period) }, (_, i) =>
    `<rect x="${(-size).toFixed(1)}" y="${(-size + phase + i * period).toFixed(2)}" width="${3 * size}" height="${width.toFixed(2)}"/>`).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs><clipPath id="r"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}"/></clipPath></defs>` +
    `<rect width="${size}" height="${size}" fill="${colours.bg}"/>` +
    `<g clip-path="url(#r)"><g fill="${colours.fg}" transform="rotate(${angle.toFixed(1)} ${c} ${c})">${bars}</g></g></svg>`
  );
}

function shapeSvg(shape: string, size: number, random: () => number, colours: { fg: string; bg: string }): string {
  const r = size * (0.2 + random() * 0.2);
  const angle = (random() * 2 - 1) * 30;
  const cx = size / 2 + (random() * 2 - 1) * size * 0.1;
  const cy = size / 2 + (random() * 2 - 1) * size * 0.1;
  const outline = random() < 0.4;
  const paint = outline
    ? `fill="none" stroke="${colours.fg}" stroke-width="${(r * (0.12 + random() * 0.15)).toFixed(2)}"`
    : `fill="${colours.fg}"`;
  const polygon = (corners: number, start: number) => Array.from({ length: corners }, (_, i) => {
    const a = start + (2 * Math.PI * i) / corners;
    return `${(cx + r * Math.cos(a)).toFixed(2)},${(cy + r * Math.sin(a)).toFixed(2)}`;
  }).join(' ');
  const body = shape === 'circle'
    ? `<circle cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" r="${r.toFixed(2)}" ${paint}/>`
    : `<polygon points="${shape === 'square' ? polygon(4, Math.PI / 4) : polygon(3, -Math.PI / 2)}" ${paint} transform="rotate(${angle.toFixed(1)} ${cx.toFixed(2)} ${cy.toFixed(2)})"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="${size}" height="${size}" fill="${colours.bg}"/>${body}</svg>`;
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
  const classes: readonly string[] = options.stripes ? STRIPES : options.shapes ? SHAPES : [...(options.digits ?? '0123456789')];
  const draw = options.stripes ? stripesSvg : options.shapes ? shapeSvg : glyphSvg;
  const random = seededRandom(options.seed ?? 0);
  for (const digit of classes) {
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
        const { data, info } = await sharp(Buffer.from(draw(digit, big, random, { fg, bg }))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        addNoise(data, noise, random);
        await sharp(data, { raw: info }).jpeg({ quality: 85 }).toFile(`${name}.jpg`);
        continue;
      }
      const level = 170 + random() * 85;
      const svg = draw(digit, size, random, { fg: rgb(level, level, level), bg: '#000000' });
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
      shapes: { type: 'boolean', default: false },
      stripes: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.out) {
    process.stdout.write('usage: npx tsx scripts/make-image-folder.ts --out DIR [--per-class 50] [--size 28] [--rgb-fraction 0.15] [--digits 0123456789 | --shapes | --stripes] [--seed 0]\n');
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const perClass = await makeImageFolder(values.out, {
    perClass: Number(values['per-class']),
    size: Number(values.size),
    rgbFraction: Number(values['rgb-fraction']),
    seed: Number(values.seed),
    digits: values.digits,
    shapes: values.shapes,
    stripes: values.stripes,
  });
  process.stdout.write(`wrote ${perClass} images per class for ${values.shapes || values.stripes ? 3 : values.digits.length} classes to ${values.out}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  });
}
