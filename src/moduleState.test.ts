import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MODULE_STATE } from './moduleState.js';

const src = fileURLToPath(new URL('.', import.meta.url));
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) && !/\.test\.ts$/.test(f) ? [p] : [];
});

/** Top-level `let`/`var`, and top-level consts holding a new Map, WeakMap, Set or WeakSet. */
const DECLARATION = /^(?:export )?(?:(?:let|var) (\w+)|const (\w+)(?:: [^=]+)? = new (?:Weak)?(?:Map|Set)\b)/gm;

describe('MODULE_STATE', () => {
  const found = files(src).flatMap((f) => {
    const file = relative(src, f).split('\\').join('/');
    return [...readFileSync(f, 'utf8').matchAll(DECLARATION)].map((m) => `${file}:${m[1] ?? m[2]}`);
  });
  const listed = MODULE_STATE.map((s) => `${s.file}:${s.name}`);

  it('lists every piece of module-level mutable state in src/', () => {
    expect(found.filter((f) => !listed.includes(f))).toEqual([]);
  });

  it('lists nothing that no longer exists', () => {
    expect(listed.filter((l) => !found.includes(l))).toEqual([]);
  });
});
