import { defineConfig } from 'tsup';

export default defineConfig({
  // worker: the entry of data-parallel replica threads, loaded next to the bundle (src/parallel/pool.ts).
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', worker: 'src/parallel/worker.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  shims: true,
  splitting: false,
});
