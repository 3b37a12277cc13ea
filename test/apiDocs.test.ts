import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

// docs/api.md is the reference of the package root: a name exported without a line there is a
// name nobody can find.
describe('docs/api.md', () => {
  it('documents every runtime export of the package root', () => {
    const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
    expect(Object.keys(api).filter((name) => !doc.includes(`\`${name}\``) && !new RegExp(`\\b${name}\\b`).test(doc))).toEqual([]);
  });
});
