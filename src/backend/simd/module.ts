import { webAssembly } from '../internals.js';
import { KERNELS_WASM_BASE64 } from './binary.js';

// atob rather than Buffer: the same code runs in Node and in a page.
const decodeBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const MEMORY_IMPORT = 2; // import kind
const IMPORT_SECTION = 2; // section id
const SHARED_WITH_MAX = 3; // limits flags: bit 0 has-maximum, bit 1 shared

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/**
 * The same module with its one memory import declared shared, which a shared memory requires to
 * link: TF.js's threaded wasm build (used in cross-origin isolated pages) runs on a
 * SharedArrayBuffer heap. The code is identical to what clang emits with `--shared-memory`; only
 * the import's limits change, so one binary serves both builds.
 */
export function withSharedMemory(bytes: Uint8Array, maxPages = 65536 /* 4 GiB, the wasm32 limit */): Uint8Array {
  let at = 8; // magic + version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, contentStart] = readLeb(bytes, at + 1);
    const end = contentStart + size;
    if (id === IMPORT_SECTION) {
      let p = contentStart;
      let count: number;
      [count, p] = readLeb(bytes, p);
      if (count !== 1) throw new Error(`expected one import (the memory); found ${count}`);
      for (let name = 0; name < 2; name++) {
        const [length, next] = readLeb(bytes, p);
        p = next + length;
      }
      if (bytes[p] !== MEMORY_IMPORT) throw new Error('the only import is not a memory');
      const hasMax = (bytes[p + 1]! & 1) === 1;
      const [minPages, afterMin] = readLeb(bytes, p + 2);
      const limitsEnd = hasMax ? readLeb(bytes, afterMin)[1] : afterMin;
      const content = [...bytes.subarray(contentStart, p + 1), SHARED_WITH_MAX, ...leb(minPages), ...leb(maxPages), ...bytes.subarray(limitsEnd, end)];
      return Uint8Array.from([...bytes.subarray(0, at), id, ...leb(content.length), ...content, ...bytes.subarray(end)]);
    }
    at = end;
  }
  throw new Error('module has no import section');
}

// A cache: the binary is decoded and each variant compiled once per process.
let bytes: Uint8Array | undefined;
const modules: { plain?: object; shared?: object } = {};

/**
 * The compiled SIMD kernels module for a plain or a shared memory. Compiled synchronously
 * because kernels are synchronous; at 68 KB it is far below the 8 MB that browsers allow on the
 * main thread.
 */
export function kernelsModule(shared: boolean): object {
  const key = shared ? 'shared' : 'plain';
  const cached = modules[key];
  if (cached !== undefined) return cached;
  bytes ??= decodeBase64(KERNELS_WASM_BASE64);
  const compiled = new (webAssembly().Module)(shared ? withSharedMemory(bytes) : bytes);
  modules[key] = compiled;
  return compiled;
}
