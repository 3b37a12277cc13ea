import { InputError, received } from '../errors.js';
import { nodeOnly } from '../io/nodeOnly.js';

// The browser build's stand-in for workers.ts: data-parallel replicas are Node worker_threads,
// so in a page 'auto' means the one thread there is, and a count above 1 says what to do instead.

export type WorkersOption = number | 'auto';

export function resolveWorkers(value: WorkersOption | undefined): number {
  if (value === undefined || value === 'auto' || value === 1) return 1;
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`workers must be an integer >= 1 or 'auto'; received \`workers=${received(value)}\``);
  }
  throw nodeOnly(`workers: ${value}`, "pass workers: 1 or 'auto' (in a cross-origin isolated page TF.js's wasm backend uses threads itself)");
}
