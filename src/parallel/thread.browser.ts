import { nodeOnly } from '../io/nodeOnly.js';

// The browser build's stand-in for thread.ts: replicas are Node worker_threads. workers.browser.ts
// resolves every `workers` option to 1 in a page, so nothing here runs unless called directly.

export class WorkerError extends Error {
  override name = 'WorkerError';
}

const INSTEAD = "pass workers: 1 (in a cross-origin isolated page TF.js's wasm backend uses threads itself)";

export function spawnWorker(): never {
  throw nodeOnly('data-parallel worker threads', INSTEAD);
}

export class ReplicaThread {
  constructor() {
    throw nodeOnly('data-parallel worker threads', INSTEAD);
  }
}

export function modelPayload(): never {
  throw nodeOnly('data-parallel worker threads', INSTEAD);
}

export function spawnReplicas(): never {
  throw nodeOnly('data-parallel worker threads', INSTEAD);
}

export function terminateReplicas(): never {
  throw nodeOnly('data-parallel worker threads', INSTEAD);
}

export function closeReplicas(): never {
  throw nodeOnly('data-parallel worker threads', INSTEAD);
}
