/**
 * The entry point of a training replica's worker thread (built to dist/worker.js; run from
 * source through tsx in development). Importing the library registers its kernels in this
 * thread's own TF.js engine, as in the coordinator.
 */
import { parentPort } from 'node:worker_threads';
import { serveReplica, type Port } from './replica.js';

if (parentPort === null) throw new Error('src/parallel/worker.ts runs only as a worker thread');
serveReplica(parentPort as unknown as Port);
