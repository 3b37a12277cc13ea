/**
 * Where library code reports progress and warnings. Library functions take an optional
 * `logger`; the default is silent, and the CLI passes one that writes to stderr, so a library
 * caller never gets output it did not ask for.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {} };

export const stderrLogger: Logger = {
  info: (message) => process.stderr.write(`${message}\n`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};
