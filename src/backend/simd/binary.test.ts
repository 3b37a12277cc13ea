import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM_BASE64 } from './binary.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const info = JSON.parse(readFileSync(here('buildInfo.json'), 'utf8')) as {
  sourcesSha256: Record<string, string>; flagsSha256: string; wasmBytes: number; wasmSha256: string;
};
const REBUILD = 'run `npm run build:wasm` (needs clang and lld) and commit binary.ts and buildInfo.json';

describe('the committed SIMD module', () => {
  it('was built from the committed C sources, all of them', () => {
    const sources = readdirSync(here('.')).filter((f) => /\.[ch]$/.test(f)).sort();
    expect(sources, `C files were added or removed since binary.ts was built; ${REBUILD}`).toEqual(Object.keys(info.sourcesSha256).sort());
    for (const file of sources) {
      expect(sha256(readFileSync(here(file))), `${file} changed since binary.ts was built; ${REBUILD}`).toBe(info.sourcesSha256[file]);
    }
  });

  it("was built with build.mjs's current flags", () => {
    const run = spawnSync(process.execPath, [here('build.mjs'), '--flags'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(sha256(run.stdout.trim()), `build.mjs's flags changed since binary.ts was built; ${REBUILD}`).toBe(info.flagsSha256);
  });

  it('is the module that build recorded', () => {
    const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
    expect(bytes.length).toBe(info.wasmBytes);
    expect(sha256(bytes), `binary.ts was not written by the build recorded in buildInfo.json; ${REBUILD}`).toBe(info.wasmSha256);
  });
});
