/**
 * scripts/make_fixtures.py, run from scratch into a temporary folder, writes the fixtures that are
 * committed in test/fixtures: so the committed files are what the committed script produces, and
 * the script keeps working. JSON files must be equal; safetensors files must have the same keys,
 * dtypes and shapes, and values within one unit in the last place of the stored dtype (they are
 * byte-identical on the development machine; BN statistics come from a float32 forward, whose
 * rounding may differ on another CPU).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { decodeTensor, parseSafetensors, type SafetensorsDtype } from '../src/weights/safetensors.js';
import { FIXTURE_DIR } from './fixtures/fixtures.js';
import { PYTHON, itWithTorch } from './fixtures/torch.js';

/** Relative spacing of floats in each stored dtype (one unit in the last place, at most). */
const ULP: Partial<Record<SafetensorsDtype, number>> = { F32: 2 ** -23, F16: 2 ** -10, BF16: 2 ** -7, F64: 2 ** -52 };

function compareSafetensors(file: string, committed: Uint8Array, regenerated: Uint8Array): string[] {
  const a = parseSafetensors(committed, file);
  const b = parseSafetensors(regenerated, file);
  const problems: string[] = [];
  if ([...a.tensors.keys()].join() !== [...b.tensors.keys()].join()) return [`${file}: keys differ`];
  for (const [key, entry] of a.tensors) {
    const other = b.tensors.get(key)!;
    if (entry.dtype !== other.dtype || entry.shape.join() !== other.shape.join()) {
      problems.push(`${file} ${key}: ${entry.dtype}[${entry.shape}] committed, ${other.dtype}[${other.shape}] regenerated`);
      continue;
    }
    const x = decodeTensor(entry, key, file);
    const y = decodeTensor(other, key, file);
    const ulp = ULP[entry.dtype];
    for (let i = 0; i < x.length; i++) {
      const [p, q] = [Number(x[i]), Number(y[i])];
      const tolerance = ulp === undefined ? 0 : ulp * Math.max(Math.abs(p), 1e-6);
      if (!(Math.abs(p - q) <= tolerance)) {
        problems.push(`${file} ${key}[${i}]: ${p} committed, ${q} regenerated`);
        break;
      }
    }
  }
  return problems;
}

describe('scripts/make_fixtures.py', () => {
  itWithTorch('regenerates the committed fixtures', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'fixtures-'));
    const script = fileURLToPath(new URL('../scripts/make_fixtures.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, '--out', out], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    expect(run.status, run.stderr).toBe(0);
    const written = (await readdir(out)).sort();
    const committed = (await readdir(FIXTURE_DIR)).filter((f) => f.endsWith('.json') || f.endsWith('.safetensors')).sort();
    expect(written).toEqual(committed);
    const problems: string[] = [];
    for (const file of written) {
      const [mine, theirs] = await Promise.all([readFile(path.join(FIXTURE_DIR, file)), readFile(path.join(out, file))]);
      if (file.endsWith('.json')) expect(JSON.parse(theirs.toString()), file).toEqual(JSON.parse(mine.toString()));
      else problems.push(...compareSafetensors(file, mine, theirs));
    }
    expect(problems).toEqual([]);
  });
});
