import { promises as fs } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { fetchBytes, isUrl } from './fetchBytes.js';

/**
 * Where readers of weight files get their bytes: a path on disk, or an http(s), blob or data
 * URL. The browser build swaps in bytes.browser.ts (URLs only).
 */
export async function readBytes(source: string): Promise<Uint8Array> {
  return isUrl(source) ? fetchBytes(source) : fs.readFile(source);
}

/** Writes `bytes` to `file` atomically (see atomic.ts). */
export async function writeBytes(file: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(file, bytes);
}
