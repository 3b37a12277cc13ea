import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { decodeFloat32, decodeTensor } from './safetensors.js';
import { parseStateDict } from './stateDict.js';
import { isTorchFile, parseTorchFile } from './torchFile.js';

// Written by PyTorch itself: scripts/make_pth_fixtures.py.
const DIR = fileURLToPath(new URL('../../test/fixtures/pth/', import.meta.url));
const read = (name: string) => new Uint8Array(readFileSync(`${DIR}${name}`));
const error = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('parseTorchFile', () => {
  const expected: Record<string, { shape: number[]; values: (number | string)[] }> = JSON.parse(readFileSync(`${DIR}views.json`, 'utf8'));

  it.each(['zip', 'legacy'])('reads views, offsets, strides and every dtype as PyTorch sees them (%s)', (format) => {
    const file = `views_${format}.pth`;
    const { tensors, metadata } = parseTorchFile(read(file), file);
    expect(metadata.format).toBe(`pytorch-${format}`);
    expect([...tensors.keys()].sort()).toEqual(Object.keys(expected).sort());
    const dtypes = Object.fromEntries([...tensors].map(([k, e]) => [k, e.dtype]));
    expect(dtypes).toEqual({ offset: 'F32', transposed: 'F32', expanded: 'F32', f16: 'F16', bf16: 'BF16', f64: 'F64', i64: 'I64', scalar: 'I64', empty: 'F32' });
    for (const [key, want] of Object.entries(expected)) {
      const entry = tensors.get(key)!;
      expect(entry.shape, key).toEqual(want.shape);
      const values = decodeTensor(entry, key, file);
      if (values instanceof BigInt64Array) expect(Array.from(values, String), key).toEqual(want.values.map(String));
      else if (key === 'f64') Array.from(values).forEach((v, i) => expect(v).toBeCloseTo(Math.fround(want.values[i] as number), 7));
      else expect(Array.from(values), key).toEqual(want.values);
    }
  });

  it.each(['zip_f32', 'legacy_f32', 'zip_f16', 'legacy_f16'])('reads a torchvision state_dict (trim_%s) with the same tensors in both formats', (name) => {
    const { tensors } = parseStateDict(read(`trim_${name}.pth`));
    const reference = parseTorchFile(read(`trim_zip_${name.split('_')[1]}.pth`)).tensors;
    expect(tensors.get('features.0.0.weight')).toMatchObject({ dtype: name.endsWith('16') ? 'F16' : 'F32', shape: [32, 3, 3, 3] });
    expect(tensors.get('features.1.conv.0.1.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    expect([...tensors.keys()]).toEqual([...reference.keys()]);
    for (const [key, entry] of tensors) expect(Buffer.from(entry.data).equals(Buffer.from(reference.get(key)!.data)), key).toBe(true);
  });

  it.each(['zip', 'legacy'])('unwraps a training checkpoint and reads nn.Parameter values (%s)', (format) => {
    const { tensors } = parseTorchFile(read(`checkpoint_${format}.pth`));
    expect([...tensors.keys()]).toEqual(['weight', 'bias']);
    expect(Array.from(decodeFloat32(tensors.get('weight')!, 'weight'))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tensors.get('weight')!.shape).toEqual([2, 3]);
    expect(Array.from(decodeFloat32(tensors.get('bias')!, 'bias'))).toEqual([0.5, -0.5]);
  });

  it.each(['p3', 'p4'])('reads a legacy file saved with pickle_protocol=%s (torch.save(..., pickle_protocol=N))', (protocol) => {
    const bytes = read(`checkpoint_legacy_${protocol}.pth`);
    expect(isTorchFile(bytes)).toBe(true);
    const { tensors, metadata } = parseStateDict(bytes);
    expect(metadata.format).toBe('pytorch-legacy');
    expect(Array.from(decodeFloat32(tensors.get('weight')!, 'weight'))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(decodeFloat32(tensors.get('bias')!, 'bias'))).toEqual([0.5, -0.5]);
  });

  it.each(['zip', 'legacy'])('refuses pickle_protocol=0 (text opcodes) in one line saying how to re-save (%s)', (format) => {
    const file = `checkpoint_${format}_p0.pth`;
    const bytes = read(file);
    expect(isTorchFile(bytes)).toBe(true);
    const e = error(() => parseStateDict(bytes, file));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(new RegExp(`^${file.replace('.', '\\.')}.*pickle protocol 0 or 1.*re-save it with torch\\.save's default protocol`));
  });

  it.each(['zip', 'legacy'])('refuses a pickle that calls os.system or eval, naming the global (%s)', (format) => {
    for (const [name, global] of [['os_system', 'posix.system'], ['eval', 'builtins.eval']]) {
      const file = `hostile_${name}_${format}.pth`;
      const e = error(() => parseTorchFile(read(file), file));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(new RegExp(`^${file}.*: refusing to load the global '${global.replace('.', '\\.')}'`));
      expect(e.message).not.toContain('\n');
    }
  });

  it('refuses os.system spelled as in a hand-written pickle', () => {
    // PROTO 2, GLOBAL 'os system', SHORT_BINUNICODE 'true', TUPLE1, REDUCE, STOP: what a malicious
    // file in the legacy layout would hold after its magic number.
    const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
    const attack = [0x80, 0x02, 0x63, ...Buffer.from('os\nsystem\n'), 0x8c, 4, ...Buffer.from('true'), 0x85, 0x52, 0x2e];
    const bytes = new Uint8Array([...magic, ...attack]);
    expect(isTorchFile(bytes)).toBe(true);
    expect(error(() => parseTorchFile(bytes, 'evil.pth')).message).toMatch(/^evil\.pth: unsupported torch\.save protocol version|^evil\.pth: refusing to load the global 'os\.system'/);
    const direct = new Uint8Array([...magic, 0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e, 0x80, 0x02, 0x7d, 0x2e, ...attack]);
    expect(error(() => parseTorchFile(direct, 'evil.pth')).message).toMatch(/^evil\.pth: refusing to load the global 'os\.system'/);
  });

  it('refuses a zip without data.pkl, and truncated or corrupt files, in one line naming the file', () => {
    expect(error(() => parseTorchFile(read('no_data_pkl.pth'), 'no_data_pkl.pth')).message).toMatch(/^no_data_pkl\.pth: a zip archive without <name>\/data\.pkl/);
    for (const format of ['zip', 'legacy']) {
      const bytes = read(`trim_${format}_f32.pth`);
      for (const cut of [10, 100, Math.floor(bytes.byteLength / 2), bytes.byteLength - 1]) {
        const e = error(() => parseStateDict(bytes.subarray(0, cut), `cut_${format}.pth`));
        expect(e, `${format} cut at ${cut}`).toBeInstanceOf(InputError);
        expect(e.message).toMatch(new RegExp(`^cut_${format}\\.pth.*(truncated|corrupt|not a)`));
        expect(e.message).not.toContain('\n');
      }
    }
    // Flip bytes throughout the pickle: every outcome is a clean InputError or a parsed file.
    const bytes = read('trim_legacy_f16.pth');
    for (let i = 0; i < 400; i += 3) {
      const copy = bytes.slice();
      copy[i] ^= 0x5a;
      try {
        parseTorchFile(copy, 'flipped.pth');
      } catch (e) {
        expect(e, `byte ${i}`).toBeInstanceOf(InputError);
      }
    }
  });

  // A legacy file by hand: one tensor over a 1-element float storage, with the given size and stride.
  function legacyFile(size: number, stride: number, rebuild = '_rebuild_tensor_v2'): Uint8Array {
    const str = (t: string) => [0x58, t.length, 0, 0, 0, ...Buffer.from(t)];
    const long = (n: number) => [0x8a, 6, ...Buffer.from(new BigUint64Array([BigInt(n)]).buffer).subarray(0, 6)];
    const header = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e, 0x80, 0x02, 0x7d, 0x2e];
    const object = [
      0x80, 0x02, 0x7d, ...str('x'), 0x63, ...Buffer.from(`torch._utils\n${rebuild}\n`), 0x28,
      0x28, ...str('storage'), 0x63, ...Buffer.from('torch\nFloatStorage\n'), ...str('0'), ...str('cpu'), 0x4b, 1, 0x4e, 0x74, 0x51,
      0x4b, 0, ...long(size), 0x85, ...long(stride), 0x85, 0x89, 0x29, 0x74, 0x52, 0x73, 0x2e,
    ];
    const keys = [0x80, 0x02, 0x5d, ...str('0'), 0x61, 0x2e];
    return new Uint8Array([...header, ...object, ...keys, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f]);
  }

  it('copies an expanded (stride 0) tensor, and refuses one larger than the file or past its storage', () => {
    for (const rebuild of ['_rebuild_tensor_v2', '_rebuild_tensor']) {
      const { tensors } = parseTorchFile(legacyFile(5, 0, rebuild), 'small.pth');
      expect(Array.from(decodeFloat32(tensors.get('x')!, 'x'))).toEqual([1, 1, 1, 1, 1]);
    }
    expect(error(() => parseTorchFile(legacyFile(2 ** 40, 0), 'bomb.pth')).message).toMatch(/^bomb\.pth: tensor 'x' expands to 4398046511104 bytes, more than the file itself/);
    expect(error(() => parseTorchFile(legacyFile(2, 1), 'past.pth')).message).toMatch(/^past\.pth: tensor 'x' reads element 1 of storage 0, which has 1/);
  });
});

describe('readStoredZip via parseTorchFile', () => {
  it('refuses compressed entries instead of inflating them', () => {
    expect(error(() => parseTorchFile(read('deflated.pth'), 'deflated.pth')).message).toMatch(/^deflated\.pth: 'views_zip\/data\.pkl' is compressed \(zip method 8\); torch\.save writes stored entries/);
  });
});
