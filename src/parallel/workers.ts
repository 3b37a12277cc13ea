import { availableParallelism } from 'node:os';
import { InputError, received } from '../errors.js';

/** How many data-parallel ranks to train with: a count, or 'auto' for one per core. */
export type WorkersOption = number | 'auto';

/**
 * Resolves the `workers` option: 'auto' is the machine's cores (`os.availableParallelism()`),
 * a number must be an integer >= 1 (1 is the single-thread path, no worker threads).
 *
 * @example
 * resolveWorkers('auto'); // 2 on a 2-core machine
 */
export function resolveWorkers(value: WorkersOption | undefined): number {
  if (value === undefined) return 1;
  if (value === 'auto') return availableParallelism();
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`workers must be an integer >= 1 or 'auto'; received \`workers=${received(value)}\``);
  }
  return value;
}
