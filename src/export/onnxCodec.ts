// The protobuf side of the export, loaded on first use: in a page's bundle it is a chunk of its own.
import * as protobufModule from 'protobufjs/light.js';
import type { ModelProto } from './onnxProto.js';
import { ONNX_SCHEMA } from './onnxSchema.js';

// protobufjs is CommonJS: Node's ESM loader gives its exports as `default` only, bundlers as
// the namespace itself.
const protobuf = ((protobufModule as unknown as { default?: typeof protobufModule }).default ?? protobufModule) as typeof protobufModule;

let modelType: protobufModule.Type | null = null;

/** The ONNX file of `model`: protobuf.js encoding it with ONNX's schema (`onnx.ModelProto`). */
export function encodeModel(model: ModelProto): Uint8Array {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  return modelType.encode(modelType.fromObject(model)).finish();
}

/** The protobuf message of ONNX bytes as a plain object (long integers as numbers), for tests and tools. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  return modelType.toObject(modelType.decode(bytes), { longs: Number, bytes: Uint8Array as never, arrays: true }) as ModelProto;
}

