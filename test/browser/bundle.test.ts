import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './chromium.js';

const dist = path.join(ROOT, 'dist/browser');

describe('the browser build (dist/browser)', () => {
  it('imports nothing but TF.js and its own chunks', async () => {
    const files = (await fs.readdir(dist)).filter((f) => f.endsWith('.js'));
    const specifiers = new Set<string>();
    for (const file of files) {
      const code = await fs.readFile(path.join(dist, file), 'utf8');
      for (const [, spec] of code.matchAll(/(?:from|import\()\s*"([^"]+)"/g)) specifiers.add(spec!.startsWith('./') ? './<chunk>' : spec!);
      expect(code, file).not.toMatch(/\brequire\(|node:|process\.(stderr|stdout|listeners)/);
    }
    expect([...specifiers].sort()).toEqual(['./<chunk>', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']);
  });

  it('keeps the embedded TF.js wasm binaries out of the entry chunk', async () => {
    const entry = await fs.stat(path.join(dist, 'index.js'));
    expect(entry.size).toBeLessThan(400_000);
    const chunks = await fs.readdir(dist);
    expect(chunks.some((f) => /^embeddedWasm-.*\.js$/.test(f))).toBe(true);
  });
});
