// '@tensorflow/tfjs' itself, not ../tf.js: tf.ts imports this file to register on import (see
// backend/registerKernels.ts for the same cycle). Same package, same engine.
import * as tf from '@tensorflow/tfjs';
import { fileSystem } from './fileSystem.js';

const SCHEME = 'file://';

/**
 * The path of a `file://` URL as tfjs-node reads it: everything after the scheme, so
 * `file:///abs/dir` is `/abs/dir` and `file://runs/x` is the relative `runs/x` (no
 * percent-decoding, as in tfjs-node: the same string names the same file with either).
 */
export function filePathOf(url: string): string {
  return url.slice(SCHEME.length);
}

const isFileUrl = (url: unknown): url is string => typeof url === 'string' && url.startsWith(SCHEME);

// TF.js types a router as always returning a handler, but calls it expecting null for URLs it does not take.
type Router = Parameters<typeof tf.io.registerSaveRouter>[0];

/**
 * A router that answers `file://` URLs with {@link fileSystem}, unless another router (tfjs-node's
 * `nodeFileSystemRouter`, or the caller's own) answers them too. Asking the others on every call,
 * rather than once at registration, makes the order of imports irrelevant: TF.js refuses a save
 * or load that two handlers claim ("Found more than one ... handlers"), so exactly one answers.
 */
function deferringRouter(find: (url: string) => tf.io.IOHandler[]): Router {
  let asking = false;
  return ((url: string | string[]): tf.io.IOHandler | null => {
    if (!isFileUrl(url) || asking) return null;
    asking = true;
    let others: number;
    try {
      others = find(url).length;
    } finally {
      asking = false;
    }
    return others > 0 ? null : fileSystem(filePathOf(url));
  }) as Router;
}

let registered = false;

/**
 * Registers `file://` save and load routers with TF.js's public `tf.io.registerSaveRouter` and
 * `registerLoadRouter`, so that `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')`
 * work in Node with plain `@tensorflow/tfjs`, as they do with tfjs-node. Saving is atomic (see
 * {@link fileSystem}). Idempotent. Called once by tf.ts (the browser build's tf has no such routers).
 */
export function registerFileRouters(): void {
  if (registered) return;
  registered = true;
  tf.io.registerSaveRouter(deferringRouter((url) => tf.io.getSaveHandlers(url)));
  tf.io.registerLoadRouter(deferringRouter((url) => tf.io.getLoadHandlers(url)));
}
