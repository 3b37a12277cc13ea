import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { fixturePath } from '../../test/fixtures/fixtures.js';
import { decodeFloat32, decodeTensor, encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';

/** A file assembled by hand from the format's definition, independently of encodeSafetensors. */
function handMade(header: unknown, data: number[] = [], rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const u16le = (values: number[]) => values.flatMap((v) => [v & 0xff, v >> 8]);

/** Expects a one-line InputError that names the source. */
function expectInputError(fn: () => unknown, source: string, pattern: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InputError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`${source}: `)).toBe(true);
  expect(message).toMatch(pattern);
}

describe('parseSafetensors / decodeTensor / decodeFloat32', () => {
  it('reads a hand-made file: F32, I64, I32, F64 and metadata', () => {
    const f32 = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const i64 = [7, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const i32 = [3, 0, 0, 0];
    const f64 = Array.from(new Uint8Array(new Float64Array([0.25]).buffer));
    const bytes = handMade(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        n: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
        i: { dtype: 'I32', shape: [], data_offsets: [24, 28] },
        d: { dtype: 'F64', shape: [1, 1], data_offsets: [28, 36] },
        __metadata__: { format: 'pt' },
      },
      [...f32, ...i64, ...i32, ...f64],
    );
    const { tensors, metadata } = parseSafetensors(bytes, 'x.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['a', 'n', 'i', 'd']);
    expect(Array.from(decodeFloat32(tensors.get('a')!, 'a'))).toEqual([1.5, -2]);
    expect(Array.from(decodeTensor(tensors.get('n')!, 'n') as BigInt64Array)).toEqual([7n, -2n]);
    expect(Array.from(decodeTensor(tensors.get('i')!, 'i') as Int32Array)).toEqual([3]);
    expect(() => decodeFloat32(tensors.get('i')!, 'i', 'x.safetensors')).toThrow("x.safetensors: tensor 'i' has dtype I32; expected a float dtype");
    expect(tensors.get('d')!.shape).toEqual([1, 1]);
    expect(Array.from(decodeFloat32(tensors.get('d')!, 'd'))).toEqual([0.25]);
  });

  it('upcasts F16 bit patterns exactly, including subnormals, infinities and NaN', () => {
    // 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), +inf, -0, NaN
    const bits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x8000, 0x7e00];
    const bytes = handMade({ h: { dtype: 'F16', shape: [9], data_offsets: [0, 18] } }, u16le(bits));
    const values = Array.from(decodeFloat32(parseSafetensors(bytes).tensors.get('h')!, 'h'));
    expect(values.slice(0, 8)).toEqual([1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, Infinity, -0]);
    expect(values[8]).toBeNaN();
  });

  it('upcasts BF16 as the top half of a float32', () => {
    // 1, -3, 2^-126 (smallest normal), 3.140625 (0x4049)
    const bits = [0x3f80, 0xc040, 0x0080, 0x4049];
    const bytes = handMade({ b: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] } }, u16le(bits));
    expect(Array.from(decodeFloat32(parseSafetensors(bytes).tensors.get('b')!, 'b'))).toEqual([1, -3, 2 ** -126, 3.140625]);
  });

  it('reads F32 at an unaligned offset', () => {
    const value = Array.from(new Uint8Array(new Float32Array([42]).buffer));
    const bytes = handMade(
      { u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [1], data_offsets: [1, 5] } },
      [9, ...value],
    );
    expect(Array.from(decodeFloat32(parseSafetensors(bytes).tensors.get('f')!, 'f'))).toEqual([42]);
  });

  it('rejects junk, truncated and inconsistent files with one line naming the file and key', () => {
    const src = 'w.safetensors';
    const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const eight = [0, 0, 0, 0, 0, 0, 0, 0];
    expectInputError(() => parseSafetensors(new Uint8Array(0), src), src, /0 bytes/);
    expectInputError(() => parseSafetensors(new Uint8Array([1, 2, 3]), src), src, /3 bytes/);
    expectInputError(() => parseSafetensors(new TextEncoder().encode('hello world, not a tensor file'), src), src, /header claims/);
    const pth = Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]);
    expectInputError(() => parseSafetensors(pth, src), src, /looks like a torch.save\(\) .pt\/.pth file .*; read it with loadTorchWeights\(\)/);
    // A pickle that is not torch.save's (no magic number) reaches this reader through loadTorchWeights:
    // it must not be told to convert in Python, which reads .pth files we now read ourselves.
    expect(() => parseSafetensors(Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e, 0, 0, 0]), src)).not.toThrow(/convert it in Python/);
    const huge = new Uint8Array(16).fill(0xff);
    expectInputError(() => parseSafetensors(huge, src), src, /header claims 18446744073709551615 bytes/);
    expectInputError(() => parseSafetensors(handMade(null, [], '{"a": '), src), src, /not valid UTF-8 JSON/);
    expectInputError(() => parseSafetensors(handMade(null, [], ''), src), src, /not valid UTF-8 JSON/);
    expectInputError(() => parseSafetensors(handMade([1, 2]), src), src, /not a JSON object/);
    expectInputError(() => parseSafetensors(handMade({ w: 3 }), src), src, /tensor 'w': expected/);
    expectInputError(() => parseSafetensors(handMade({ w: { ...ok, dtype: 'Q4' } }, eight), src), src, /tensor 'w': unknown dtype "Q4"/);
    expectInputError(() => parseSafetensors(handMade({ w: { ...ok, shape: [2.5] } }, eight), src), src, /tensor 'w': shape must be/);
    expectInputError(() => parseSafetensors(handMade({ w: { ...ok, data_offsets: [0] } }, eight), src), src, /tensor 'w': data_offsets must be/);
    expectInputError(() => parseSafetensors(handMade({ w: ok }, [0, 0, 0]), src), src, /tensor 'w': data_offsets \[0, 8\] lie outside the 3 data bytes/);
    expectInputError(() => parseSafetensors(handMade({ w: { ...ok, data_offsets: [8, 0] } }, eight), src), src, /tensor 'w': .*outside/);
    expectInputError(() => parseSafetensors(handMade({ w: { ...ok, shape: [3] } }, eight), src), src, /tensor 'w': .*hold 8 bytes but F32 \[3\] needs 12/);
    expectInputError(
      () => parseSafetensors(handMade({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, [...eight, ...eight]), src),
      src,
      /tensors 'a' and 'b' overlap/,
    );
    expectInputError(() => parseSafetensors(handMade({ __metadata__: { a: 1 } }), src), src, /__metadata__/);
    const u8 = handMade({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [1]);
    expect(() => decodeTensor(parseSafetensors(u8, src).tensors.get('w')!, 'w', src)).toThrow(/^w.safetensors: tensor 'w' has dtype U8; supported/);
  });

  it('parses a valid file whose header length starts like a pickle or zip signature', () => {
    for (const length of [0x280, 0x4b50]) {
      const json = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
      const bytes = handMade(null, [0, 0, 0x80, 0x3f], json.padEnd(length, ' '));
      expect(Array.from(bytes.subarray(0, 2))).toEqual([length & 0xff, length >> 8]);
      expect(Array.from(decodeFloat32(parseSafetensors(bytes).tensors.get('w')!, 'w'))).toEqual([1]);
    }
  });

  it('accepts empty tensors sharing offsets', () => {
    const bytes = handMade({ e: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] }, w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]);
    expect(decodeFloat32(parseSafetensors(bytes).tensors.get('e')!, 'e')).toHaveLength(0);
  });

  it('rejects every truncation of a real PyTorch file, and random junk, without a RangeError', async () => {
    const file = fixturePath('mnist_a0.5.safetensors');
    const bytes = await readFile(file);
    for (const length of [0, 5, 8, 9, 100, 1000, bytes.length - 1]) {
      expectInputError(() => parseSafetensors(bytes.subarray(0, length), file), file, /./);
    }
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff);
    for (let trial = 0; trial < 20; trial++) {
      const junk = Uint8Array.from({ length: 64 + trial * 37 }, random);
      expectInputError(() => parseSafetensors(junk, 'junk.bin'), 'junk.bin', /./);
    }
  });
});

describe('encodeSafetensors / writeSafetensors / readSafetensors', () => {
  it('writes the documented layout: u64 length, 8-byte padded JSON header, then the data', () => {
    const bytes = encodeSafetensors(
      { w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, n: { dtype: 'I64', shape: [], data: new BigInt64Array([5n]) } },
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { format: 'pt' },
      w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      n: { dtype: 'I64', shape: [], data_offsets: [8, 16] },
    });
    const data = bytes.subarray(8 + n);
    expect(Array.from(new Float32Array(data.slice(0, 8).buffer))).toEqual([1, 2]);
    expect(Array.from(data.subarray(8))).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects data that does not fit the declared dtype and shape', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(InputError);
    expect(() => encodeSafetensors({ w: { dtype: 'F16', shape: [1], data: new Float32Array(1) } })).toThrow(/pass raw bytes/);
    expect(() => encodeSafetensors({ w: { dtype: 'F16', shape: [2], data: new Uint8Array(3) } })).toThrow(/3 raw bytes but F16 \[2\] needs 4/);
  });

  it('writes atomically and reports unreadable or unwritable paths in one line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'st-'));
    const file = path.join(dir, 'w.safetensors');
    await writeFile(file, 'old');
    await writeSafetensors(file, { w: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    expect(Array.from(decodeFloat32((await readSafetensors(file)).tensors.get('w')!, 'w'))).toEqual([3]);
    const missing = path.join(dir, 'nope.safetensors');
    await expect(readSafetensors(missing)).rejects.toThrow(`${missing}: cannot read the weights file (ENOENT)`);
    const bad = path.join(dir, 'no-such-dir', 'w.safetensors');
    // The atomic writer's one-line errno error (src/io/fileError.ts).
    await expect(writeSafetensors(bad, {})).rejects.toThrow(`${bad}: cannot write: ENOENT (no such file or directory)`);
  });
});
