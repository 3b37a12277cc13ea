import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxSchemaSource } from '../../scripts/onnx-schema.js';

describe('onnxSchema.ts', () => {
  it("is protobuf.js's reading of onnx.proto as committed (regenerate: npx tsx scripts/onnx-schema.ts)", () => {
    const read = (name: string) => readFileSync(path.join(import.meta.dirname, name), 'utf8');
    expect(read('onnxSchema.ts')).toBe(onnxSchemaSource(read('onnx.proto')));
  });
});
