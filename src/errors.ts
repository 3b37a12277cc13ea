/**
 * An error caused by what the caller passed in (an option, a file, a tensor), as opposed to a
 * bug. Its message is one line that names the culprit, says what was expected and echoes what
 * was received; the CLI prints exactly that line and exits non-zero, without a stack trace.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** Formats a received value for an error message: short, one line. */
export function received(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value == null) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
