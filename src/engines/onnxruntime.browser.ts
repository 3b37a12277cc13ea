// The browser build: onnxruntime-node is Node's. A page runs exportOnnx's file with onnxruntime-web.
import { InputError } from '../errors.js';
import type { OnnxSession } from './onnxruntime.js';

export type { OnnxSession, SessionOutput } from './onnxruntime.js';

const REASON = "onnxruntime-node does not run in a browser (run exportOnnx's file with onnxruntime-web there)";

export const loadOnnxruntime = async (): Promise<string> => REASON;

export const defaultThreads = () => 1;

export async function onnxSession(): Promise<OnnxSession> {
  throw new InputError(`engine 'onnxruntime': ${REASON}`);
}
