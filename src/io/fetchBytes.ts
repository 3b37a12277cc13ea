/** An error with a short machine-readable cause, like Node's `ErrnoException.code`. */
export class ReadFailure extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** True for what `fetch` reads rather than the file system: http(s), blob and data URLs. */
export const isUrl = (source: string) => /^(https?|blob|data):/i.test(source);

/**
 * The bytes at `url`. A failed request is a {@link ReadFailure} whose `code` is `HTTP <status>`
 * or the network error's message, so callers word one error for files and URLs alike.
 */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ReadFailure((error as Error).message);
  }
  if (!response.ok) throw new ReadFailure(`HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The `code` of a failed read or write, for messages such as `w.safetensors: cannot read the weights file (ENOENT)`. */
export const failureCode = (error: unknown) => (error as { code?: string }).code ?? String(error);
