import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../examples/web/server.js';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

const get = (url: string) => new Promise<number>((resolve, reject) => {
  const request = http.get(url, (response) => {
    response.resume();
    resolve(response.statusCode ?? 0);
  }).on('error', reject);
  request.setTimeout(10_000, () => request.destroy(new Error(`no answer from ${url}`)));
});

// The demo server (`npm run web`) without a browser: what a mistyped URL or a busy port does.
describe('demo server', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer();
  });
  afterAll(() => server.close());

  it('answers a malformed percent-encoding with 400 and keeps serving', async () => {
    expect(await get(`${server.url}%E0%A4%A`)).toBe(400);
    expect(await get(server.url)).toBe(200);
  });

  it('npm run web on a port in use: one line naming the port, exit code 2, no stack trace', () => {
    const port = new URL(server.url).port;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/web/web.ts', '--port', port], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is in use`));
    expect(run.stderr.trim()).not.toContain('\n');
  });
});
