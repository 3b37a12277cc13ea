import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { pretrainedFile } from './pretrainedFile.js';
import { PRETRAINED, type PretrainedSpec } from './weights.js';

// A real torch.save file served under a name whose hash prefix matches, as torchvision's are.
const bytes = readFileSync(fileURLToPath(new URL('../../test/fixtures/pth/trim_zip_f32.pth', import.meta.url)));
const prefix = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
const spec: PretrainedSpec = { ...PRETRAINED.IMAGENET1K_V2, file: `trim-${prefix}.pth`, sha256Prefix: prefix };

type Mode = 'ok' | 'wrong' | 'drop' | 'missing';
let mode: Mode = 'ok';
let requests: string[] = [];
let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (mode === 'missing' || req.url !== `/models/${spec.file}`) {
      res.writeHead(404).end('not found');
    } else if (mode === 'wrong') {
      res.writeHead(200, { 'content-length': bytes.byteLength }).end(Buffer.from(bytes).reverse());
    } else if (mode === 'drop') {
      res.writeHead(200, { 'content-length': bytes.byteLength });
      res.write(bytes.subarray(0, bytes.byteLength >> 1), () => res.destroy());
    } else {
      res.writeHead(200, { 'content-length': bytes.byteLength }).end(bytes);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(async () => {
  mode = 'ok';
  requests = [];
  dir = await mkdtemp(path.join(tmpdir(), 'pretrained-'));
  return () => rm(dir, { recursive: true, force: true });
});

const env = () => ({ MOBILENETV2_TFJS_HOME: path.join(dir, 'cache'), TORCH_HOME: path.join(dir, 'torch'), MOBILENETV2_TFJS_WEIGHTS_URL: base });
const rejection = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: Error) => e);
const listCache = () => readdir(path.join(dir, 'cache')).catch(() => []);

describe('pretrainedFile', () => {
  it('downloads once into $MOBILENETV2_TFJS_HOME, verified; a cache hit makes no request', async () => {
    const progress: number[] = [];
    const first = await pretrainedFile(spec, { env: env(), onProgress: (n, total) => progress.push(n / total!) });
    expect(first).toMatchObject({ origin: 'download', path: path.join(dir, 'cache', spec.file) });
    expect(Buffer.compare(await readFile(first.path), bytes)).toBe(0);
    expect(requests).toEqual([`/models/${spec.file}`]);
    expect(progress.at(-1)).toBe(1);
    const second = await pretrainedFile(spec, { env: env() });
    expect(second).toMatchObject({ origin: 'cache', path: first.path });
    expect(requests).toHaveLength(1);
    expect(await listCache()).toEqual([spec.file]);
  });

  it("reuses torch.hub's copy in $TORCH_HOME/hub/checkpoints without a request", async () => {
    const hub = path.join(dir, 'torch', 'hub', 'checkpoints');
    await mkdir(hub, { recursive: true });
    await writeFile(path.join(hub, spec.file), bytes);
    expect(await pretrainedFile(spec, { env: env() })).toMatchObject({ origin: 'torch-hub', path: path.join(hub, spec.file) });
    expect(requests).toEqual([]);
  });

  it('takes the base URL from the option over the environment', async () => {
    const e = await rejection(pretrainedFile(spec, { env: env(), baseUrl: `${base}elsewhere` }));
    expect(e.message).toContain(`${base}elsewhere/${spec.file} (HTTP 404`);
  });

  it('rejects a file with the wrong hash and caches nothing', async () => {
    mode = 'wrong';
    const e = await rejection(pretrainedFile(spec, { env: env() }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(new RegExp(`^${base}${spec.file}: sha256 [0-9a-f]{16}\\.\\.\\. does not start with ${prefix}: .*nothing was saved$`));
    expect(await listCache()).toEqual([]);
  });

  it('leaves no file when the connection drops midway', async () => {
    mode = 'drop';
    const e = await rejection(pretrainedFile(spec, { env: env() }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(new RegExp(`^download of ${base}${spec.file} (failed|ended) after \\d+ .*nothing was saved`));
    expect(await listCache()).toEqual([]);
    mode = 'ok';
    expect((await pretrainedFile(spec, { env: env() })).origin).toBe('download');
  });

  it('offline: one line naming the URL and the exact path to place the file by hand', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/models/`;
    const e = await rejection(pretrainedFile(spec, { env: { ...env(), MOBILENETV2_TFJS_WEIGHTS_URL: url } }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(`cannot download ${url}${spec.file} (ECONNREFUSED); without network, download it elsewhere and place it at ${path.join(dir, 'cache', spec.file)}`);
    const off = await rejection(pretrainedFile('IMAGENET1K_V1', { env: env(), download: false }));
    expect(off.message).toBe(`IMAGENET1K_V1 weights are not cached and downloads are off; download ${base}mobilenet_v2-b0353104.pth and place it at ${path.join(dir, 'cache', 'mobilenet_v2-b0353104.pth')}`);
    expect(requests).toEqual([]);
  });

  it('refuses unknown names, listing the allowed ones', async () => {
    const e = await rejection(pretrainedFile('imagenet21k' as never, { env: env() }));
    expect(e.message).toBe("weights must be one of 'imagenet', 'IMAGENET1K_V1', 'IMAGENET1K_V2'; received `weights=\"imagenet21k\"`");
  });
});
