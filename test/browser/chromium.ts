import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** Screenshots and downloads of the browser tests (gitignored; CI keeps them as artifacts). */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/**
 * Debian's chromium (`.ci/run` installs it), or CHROMIUM_PATH. Playwright downloads no browser:
 * a missing one fails the tests rather than skipping them.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found; install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  if (!existsSync(path.join(ROOT, 'dist/browser/index.js'))) throw new Error('dist/browser/index.js not found; run `npm run build` first');
  // Chromium's sandbox refuses to start as root (containers, CI).
  const args = [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...extraArgs];
  return chromium.launch({ executablePath, args });
}
