import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The browser build's one rule: a module `foo.ts` with a sibling `foo.browser.ts` is replaced
 * by it (the file-replacement idea of package.json's "browser" field, applied to our sources).
 * The stubs keep Node-only code (node:fs, sharp, vega, process) out of a page's bundle.
 */
const browserSwaps: Plugin = {
  name: 'browser-swaps',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const swap = path.resolve(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      return existsSync(swap) ? { path: swap } : undefined;
    });
  },
};

export default defineConfig([
  {
    // worker: the entry of data-parallel replica threads, loaded next to the bundle (src/parallel/pool.ts).
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', worker: 'src/parallel/worker.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts' } },
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: ['!browser/**'],
    shims: true,
    splitting: false,
  },
  {
    entry: { index: 'src/browser.ts' },
    outDir: 'dist/browser',
    format: ['esm'],
    dts: true,
    target: 'es2022',
    platform: 'browser',
    sourcemap: true,
    clean: true,
    // The embedded TF.js wasm binaries go to their own chunk, loaded only when wasm starts.
    splitting: true,
    loader: { '.wasm': 'binary' },
    // protobufjs (exportOnnx's encoder) is bundled: a page's bundle needs no CommonJS package of ours.
    noExternal: [/\.wasm$/, /^protobufjs(\/|$)/],
    esbuildPlugins: [browserSwaps],
  },
]);
