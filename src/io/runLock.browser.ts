import type { RunLock } from './runLock.js';

/** A page has no run directories to share: the lock is a no-op (train's `out` is refused later, by name). */
export async function lockRunDirectory(dir: string): Promise<RunLock> {
  return { dir, file: '', release: async () => {} };
}
