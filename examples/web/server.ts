import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Options of {@link startDemoServer}. */
export interface DemoServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Send COOP/COEP headers so the page is cross-origin isolated, which lets TF.js's wasm backend
   * use its threaded build (SharedArrayBuffer). Default true.
   */
  isolated?: boolean;
}

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

/**
 * Bundles the demo (src/main.ts) with esbuild the way a user's bundler would: the package is
 * imported by name, so esbuild picks its "browser" export (build the package first). Nothing
 * else is configured: no wasm paths, no Node polyfills.
 */
export async function bundleDemo(): Promise<Map<string, Uint8Array>> {
  const result = await build({
    entryPoints: [path.join(here, 'src/main.ts')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: '/',
    write: false,
    sourcemap: 'linked',
    // src/tsconfig.json maps the package to its sources for type checking; the bundle must
    // take the package's built "browser" export instead, as in a user's project.
    tsconfigRaw: {},
    logLevel: 'warning',
  });
  return new Map(result.outputFiles.map((f) => [f.path, f.contents]));
}

/**
 * Serves the demo on 127.0.0.1 only: index.html, the bundle and the seed model in model/.
 *
 * @example
 * const server = await startDemoServer({ port: 5173 });
 * console.log(server.url);
 */
export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const bundle = await bundleDemo();
  const isolated = options.isolated ?? true;
  const server = http.createServer(async (request, response) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      // A malformed %-escape would otherwise throw in this async handler and end the process.
      response.writeHead(400, { 'Content-Type': 'text/plain' }).end('malformed URL');
      return;
    }
    const name = pathname === '/' ? '/index.html' : pathname;
    const headers: Record<string, string> = { 'Content-Type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    let body = bundle.get(name);
    if (body === undefined && (name === '/index.html' || name.startsWith('/model/'))) {
      const file = path.join(here, path.normalize(name));
      if (file.startsWith(here)) body = await fs.readFile(file).catch(() => undefined);
    }
    if (body === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`${name} not found`);
      return;
    }
    response.writeHead(200, headers).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
