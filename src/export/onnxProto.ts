/**
 * The operator set the export targets. 13 is the first with `Clip` taking min and max as inputs
 * (ReLU6 needs both), `Softmax` over one axis (not the flattened trailing axes of opset ≤ 12)
 * and everything else this network uses in its current form; it is what Debian's PyTorch 1.13
 * exports with `opset_version=13`, and every runtime that matters (onnxruntime, its web build,
 * TensorRT, OpenVINO, onnx2tf) reads it.
 */
export const ONNX_OPSET = 13;

/** IR version 7 (ONNX 1.8) is the oldest that carries opset 13: the widest range of readers. */
export const ONNX_IR_VERSION = 7;

/** `TensorProto.DataType.FLOAT`. */
export const FLOAT = 1;

/** `AttributeProto.AttributeType`: the kinds the export writes. */
export const ATTRIBUTE = { INT: 2, STRING: 3, INTS: 7 } as const;

// The subset of ONNX's messages the export writes, with ONNX's own field names (onnx.proto).
export interface AttributeProto {
  name: string;
  type: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

export interface NodeProto {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  /** Little-endian values. */
  raw_data: Uint8Array;
}

/** A dimension: fixed (`dim_value`) or named and free (`dim_param`, e.g. the batch). */
export type Dimension = { dim_value: number } | { dim_param: string };

export interface ValueInfoProto {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Dimension[] } } };
  doc_string?: string;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  doc_string?: string;
}

export interface ModelProto {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: GraphProto;
  metadata_props: { key: string; value: string }[];
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A float32 initializer; ONNX's raw_data is little-endian whatever the machine. */
export function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  let raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (!littleEndian) {
    const view = new DataView(new ArrayBuffer(values.byteLength));
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    raw = new Uint8Array(view.buffer);
  }
  return { name, dims, data_type: FLOAT, raw_data: raw };
}

/** A float32 tensor's type and shape. */
export function floatValue(name: string, dims: (number | string)[], docString?: string): ValueInfoProto {
  const dim = dims.map((d): Dimension => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim } } }, ...(docString && { doc_string: docString }) };
}

export const intAttribute = (name: string, i: number): AttributeProto => ({ name, type: ATTRIBUTE.INT, i });
export const intsAttribute = (name: string, ints: number[]): AttributeProto => ({ name, type: ATTRIBUTE.INTS, ints });
