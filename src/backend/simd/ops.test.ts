import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BinaryOp, MaskFlag, ScalarOp } from './ops.js';

const header = readFileSync(fileURLToPath(new URL('ops.h', import.meta.url)), 'utf8');

/** The `NAME = value` entries of `enum name { ... }` in ops.h. */
function cEnum(name: string): Record<string, number> {
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(header)?.[1];
  if (body === undefined) throw new Error(`ops.h has no enum ${name}`);
  return Object.fromEntries(body.split(',').map((entry) => {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(\d+)\s*$/.exec(entry);
    if (match === null) throw new Error(`enum ${name}: cannot read "${entry.trim()}" (write NAME = number)`);
    return [match[1]!, Number(match[2])];
  }));
}

/** A TS enum's members as C names: `prefix` + the member in upper snake case (LoClosed → LO_CLOSED). */
function asC(tsEnum: Record<string, string | number>, prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(tsEnum)
    .filter(([, value]) => typeof value === 'number')
    .map(([key, value]) => [prefix + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase(), value as number]));
}

describe('ops.ts against ops.h', () => {
  it.each([
    ['binary_op', BinaryOp, 'BINARY_'],
    ['scalar_op', ScalarOp, 'SCALAR_'],
    ['mask_flag', MaskFlag, 'MASK_'],
  ] as const)('enum %s: the same names and values', (name, tsEnum, prefix) => {
    expect(asC(tsEnum, prefix)).toEqual(cEnum(name));
  });

  it('mirrors every enum of the header', () => {
    expect([...header.matchAll(/enum (\w+) \{/g)].map((m) => m[1])).toEqual(['binary_op', 'scalar_op', 'mask_flag']);
  });
});
