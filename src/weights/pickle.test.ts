import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { unpickle } from './pickle.js';

const globals = { 'collections.OrderedDict': () => new Map() };
const run = (bytes: number[]) => unpickle(new Uint8Array(bytes), { source: 'p.pkl', globals }).value;
const str = (s: string) => [0x8c, s.length, ...Buffer.from(s)]; // SHORT_BINUNICODE (protocol 4)
const message = (bytes: number[]) => {
  try {
    run(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('unpickle (data only)', () => {
  it('builds plain values: dicts, lists, tuples, ints, longs, floats, strings, memo', () => {
    // PROTO 4, EMPTY_DICT, MEMOIZE, MARK, 'a' BININT1 7, 'b' LONG1 2^64, 'c' [BINFLOAT 0.5, NONE, TRUE], 'd' BINGET 0 ... SETITEMS, STOP
    const value = run([
      0x80, 4, 0x7d, 0x94, 0x28,
      ...str('a'), 0x4b, 7,
      ...str('b'), 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1,
      ...str('c'), 0x5d, 0x28, 0x47, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x4e, 0x88, 0x65,
      ...str('t'), 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4d, 0x34, 0x12, 0x86,
      0x75, 0x2e,
    ]) as Map<string, unknown>;
    expect(value).toEqual(new Map<string, unknown>([['a', 7], ['b', 2n ** 64n], ['c', [0.5, null, true]], ['t', [-1, 0x1234]]]));
  });

  it('refuses globals it was not given, by GLOBAL or STACK_GLOBAL, before anything runs', () => {
    expect(message([0x80, 2, 0x63, ...Buffer.from('os\nsystem\n'), 0x2e])).toMatch(/^p\.pkl: refusing to load the global 'os\.system': a weights file may name only collections\.OrderedDict;/);
    expect(message([0x80, 4, ...str('builtins'), ...str('eval'), 0x93, 0x2e])).toMatch(/^p\.pkl: refusing to load the global 'builtins\.eval'/);
    expect(message([0x80, 2, 0x63, ...Buffer.from('__builtin__\ngetattr\n'), 0x2e])).toMatch(/'builtins\.getattr'/);
  });

  it('refuses opcodes outside the subset, lengths past the end and malformed stacks', () => {
    expect(message([0x80, 2, 0x69, 0x2e])).toMatch(/^p\.pkl: unsupported pickle opcode 0x69 at byte 2/); // INST
    expect(message([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61])).toMatch(/^p\.pkl: truncated pickle: BINUNICODE at byte 7 needs 2147483647 bytes, 1 left/);
    expect(message([0x80, 2, 0x73, 0x2e])).toMatch(/stack underflow/);
    expect(message([0x80, 2, 0x68, 3, 0x2e])).toMatch(/memo key 3 read before it was written/);
    expect(message([0x80, 2, 0x29, 0x4b, 1, 0x61, 0x2e])).toMatch(/APPEND on a non-list/);
    expect(message([0x80, 2, 0x4e])).toMatch(/truncated pickle/);
    expect(message([0x80, 9, 0x2e])).toMatch(/unsupported pickle protocol 9/);
  });
});
