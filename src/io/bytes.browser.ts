import { InputError } from '../errors.js';
import { fetchBytes } from './fetchBytes.js';

/** In a page every source is a URL, relative ones resolved against the page. */
export async function readBytes(source: string): Promise<Uint8Array> {
  return fetchBytes(source);
}

export async function writeBytes(file: string): Promise<void> {
  throw new InputError(`${file}: a web page cannot write files; encode the bytes (e.g. encodeSafetensors) and offer them as a download`);
}
