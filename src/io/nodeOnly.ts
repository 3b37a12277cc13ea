import { InputError } from '../errors.js';

/**
 * The error of a Node-only function called in a web page (the browser build swaps such modules
 * for stubs that throw this): says what needs Node and what to do in a page instead.
 */
export function nodeOnly(what: string, instead: string): InputError {
  return new InputError(`${what} needs Node (a web page has no file system); ${instead}`);
}
