import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** Options of {@link downloadVerified}. */
export interface DownloadOptions {
  /** Hex prefix the file's sha256 must start with (torch.hub's convention: the hex after the last '-' of the name). */
  sha256Prefix: string;
  /** Called as bytes arrive; `total` is undefined when the server sends no length. Default none. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Gives up when no byte arrives for this long. Default 60000 ms. */
  idleTimeoutMs?: number;
}

/** Lowercase hex sha256 of bytes. */
export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Downloads `url` to `dest`, checking its sha256 against `sha256Prefix`. The bytes go to a
 * temporary file beside `dest`, are hashed as they arrive and synced, and only a verified file
 * is renamed to `dest`: a dropped connection, a killed process or a wrong file never leaves
 * anything at `dest` that could pass for good.
 *
 * @throws InputError, one line naming the URL, when the server cannot be reached (with the path
 *   where the file can be placed by hand), answers with an error status, drops the connection,
 *   or sends a file with another hash.
 * @example
 * await downloadVerified('https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth', '/tmp/w.pth', { sha256Prefix: '7ebf99e0' });
 */
export async function downloadVerified(url: string, dest: string, options: DownloadOptions): Promise<void> {
  const handPlaced = `; without network, download it elsewhere and place it at ${dest}`;
  const controller = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let idle = setTimeout(() => controller.abort(), idleMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), idleMs);
  };
  const reason = (error: unknown) => {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (controller.signal.aborted) return `no data for ${idleMs / 1000} s`;
    return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
  };
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  let handle: fs.FileHandle | undefined;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw new InputError(`cannot download ${url} (${reason(error)})${handPlaced}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => {});
      throw new InputError(`cannot download ${url} (HTTP ${response.status} ${response.statusText})${handPlaced}`);
    }
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    const hash = createHash('sha256');
    handle = await fs.open(tmp, 'w');
    let received = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        touch();
        hash.update(chunk);
        await handle.write(chunk);
        received += chunk.byteLength;
        options.onProgress?.(received, total);
      }
    } catch (error) {
      throw new InputError(`download of ${url} failed after ${received} bytes (${reason(error)}); nothing was saved, run again to retry`);
    }
    if (total !== undefined && received !== total) {
      throw new InputError(`download of ${url} ended after ${received} of ${total} bytes; nothing was saved, run again to retry`);
    }
    const digest = hash.digest('hex');
    if (!digest.startsWith(options.sha256Prefix.toLowerCase())) {
      throw new InputError(`${url}: sha256 ${digest.slice(0, 16)}... does not start with ${options.sha256Prefix}: not the expected file (a proxy error page or a corrupt mirror?); nothing was saved`);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, dest);
  } finally {
    clearTimeout(idle);
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
  }
}
