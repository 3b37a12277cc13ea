import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensors } from '../weights/safetensors.js';
import { readBytes } from './bytes.js';

let server: http.Server;
let base: string;
const file = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/w.safetensors') response.writeHead(200).end(file);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('readBytes', () => {
  it('reads http and data URLs as well as files', async () => {
    expect(await readBytes(`${base}/w.safetensors`)).toEqual(file);
    expect(Array.from(await readBytes('data:application/octet-stream;base64,AQID'))).toEqual([1, 2, 3]);
  });

  it('lets weight readers name the URL and the HTTP status', async () => {
    expect((await readSafetensors(`${base}/w.safetensors`)).tensors.get('w')?.shape).toEqual([2]);
    await expect(readSafetensors(`${base}/missing.safetensors`)).rejects.toThrow(`${base}/missing.safetensors: cannot read the weights file (HTTP 404)`);
  });
});
