import { type Architecture, type ConvUnit, type Head, runArchitecture } from '../models/architecture.js';
import { floatTensor, floatValue, type GraphProto, intAttribute, intsAttribute, type NodeProto, type TensorProto } from './onnxProto.js';

/** 'nchw' (PyTorch's, as `torch.onnx.export` writes) or 'nhwc' (TF.js's). */
export type OnnxLayout = 'nchw' | 'nhwc';

/** A conv unit's weights in ONNX's layout: `weight` [out, in / group, kh, kw] (OIHW), BatchNorm folded in. */
export interface OnnxConvWeights {
  weight: Float32Array;
  bias: Float32Array;
}

export interface OnnxGraphOptions {
  layout: OnnxLayout;
  /**
   * Also output the pooled features ([batch, channels], the global average of the last conv,
   * what `embed` returns) after the main output, unless that is already them (a pooling head).
   */
  pooledOutput?: boolean;
  /**
   * Leave the input's height and width free (`height`, `width`), as the TF.js layers (convs and
   * global pooling) take any size: the engine's export, which runs whatever `predictBatches`
   * gets. Default: the model's size, as `torch.onnx.export` fixes it.
   */
  freeSize?: boolean;
}

/** Everything the graph needs besides the description. */
export interface OnnxGraphWeights {
  conv(unit: ConvUnit): OnnxConvWeights;
  /** The classifier's Dense kernel [in, out] and bias [out], when the head has one. */
  classifier?: { kernel: Float32Array; bias: Float32Array };
}

/** The graph's input name, documented in docs/api.md (exportOnnx). */
export const ONNX_INPUT = 'input';

/** A graph input's or output's name and shape (a string is a free dimension). */
export interface OnnxValue {
  name: string;
  shape: (number | string)[];
}

/**
 * The exported graph's input and output: `input` in `layout`, and `logits` (a linear
 * classifier), `probabilities` (softmax), or `features` (pooled [batch, channels], or the
 * feature map in `layout`).
 */
export function onnxSignature(arch: Architecture, options: Pick<OnnxGraphOptions, 'layout' | 'freeSize'>): { input: OnnxValue; output: OnnxValue } {
  const nhwc = options.layout === 'nhwc';
  const [h, w, c] = arch.inputShape;
  const [ih, iw] = options.freeSize ? ['height', 'width'] : [h, w];
  const { head } = arch;
  const name = head.kind !== 'classifier' ? 'features' : head.activation === 'softmax' ? 'probabilities' : 'logits';
  const outC = arch.outputShape.at(-1)!;
  let shape: (number | string)[] = ['batch', outC];
  if (head.kind === 'none') {
    const [oh, ow] = options.freeSize ? ['out_height', 'out_width'] : arch.last.outputSize;
    shape = nhwc ? ['batch', oh, ow, outC] : ['batch', outC, oh, ow];
  }
  return { input: { name: ONNX_INPUT, shape: nhwc ? ['batch', ih, iw, c] : ['batch', c, ih, iw] }, output: { name, shape } };
}

/**
 * The ONNX graph of `arch`, built by {@link runArchitecture} with ONNX value names as its values,
 * so it has the same units, wiring and shortcuts as the TF.js model by construction. Each conv
 * unit is one `Conv` (its BatchNorm folded into weight and bias; a depthwise conv is `group =
 * channels`; PyTorch's symmetric `(k − 1) / 2` padding, which is what the TF.js layers compute
 * too, with their ZeroPadding2D or 'same') followed by `Clip(0, 6)` for ReLU6. The head is
 * torchvision's: GlobalAveragePool, Flatten, Gemm (dropout is the identity in inference), and
 * Softmax for a softmax classifier. The batch axis is free (`batch`).
 */
export function onnxGraph(arch: Architecture, weights: OnnxGraphWeights, options: OnnxGraphOptions): GraphProto {
  const { layout } = options;
  // ONNX's field names: the graph's `node` list and its `initializer`s.
  const node: NodeProto[] = [];
  const initializer: TensorProto[] = [];
  const emit = (op: string, name: string, input: string[], attribute?: NodeProto['attribute']): string => {
    node.push({ name, op_type: op, input, output: [name], ...(attribute && { attribute }) });
    return name;
  };
  const constant = (name: string, dims: number[], values: Float32Array) => {
    initializer.push(floatTensor(name, dims, values));
    return name;
  };
  // Clip's bounds are inputs from opset 11 on: one pair of scalars for every ReLU6.
  const relu6 = { min: constant('relu6.min', [], new Float32Array([0])), max: constant('relu6.max', [], new Float32Array([6])) };

  const unit = (u: ConvUnit, x: string): string => {
    const { weight, bias } = weights.conv(u);
    const group = u.op === 'depthwise' ? u.inChannels : 1;
    const k = u.kernelSize;
    const p = u.padding;
    const conv = emit('Conv', u.layers.conv, [
      x,
      constant(`${u.layers.conv}.weight`, [u.outChannels, u.inChannels / group, k, k], weight),
      constant(`${u.layers.conv}.bias`, [u.outChannels], bias),
    ], [
      intsAttribute('kernel_shape', [k, k]),
      intsAttribute('strides', [u.stride, u.stride]),
      intsAttribute('pads', [p, p, p, p]),
      intsAttribute('dilations', [1, 1]),
      intAttribute('group', group),
    ]);
    return u.layers.act ? emit('Clip', u.layers.act, [conv, relu6.min, relu6.max]) : conv;
  };
  const head = (hd: Head, x: string): string => {
    if (hd.kind === 'none') return x;
    const pooled = emit(hd.kind === 'pool' && hd.pooling === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', hd.layers.pool, [x]);
    const flat = emit('Flatten', `${hd.layers.pool}.flatten`, [pooled], [intAttribute('axis', 1)]);
    if (hd.kind === 'pool') return flat;
    const { kernel, bias } = weights.classifier!;
    const name = hd.layers.classifier;
    const logits = emit('Gemm', name, [flat, constant(`${name}.weight`, [hd.inFeatures, hd.numClasses], kernel), constant(`${name}.bias`, [hd.numClasses], bias)]);
    return hd.activation === 'softmax' ? emit('Softmax', `${name}.softmax`, [logits], [intAttribute('axis', 1)]) : logits;
  };

  const entry = layout === 'nhwc' ? emit('Transpose', `${ONNX_INPUT}.nchw`, [ONNX_INPUT], [intsAttribute('perm', [0, 3, 1, 2])]) : ONNX_INPUT;
  let out = runArchitecture(arch, entry, { unit, add: (block, a, b) => emit('Add', block.shortcut!.layer, [a, b]), head });
  const signature = onnxSignature(arch, options);
  let pooled: string | null = null;
  if (options.pooledOutput && arch.head.kind === 'classifier') pooled = `${arch.head.layers.pool}.flatten`;
  if (arch.head.kind === 'none') {
    if (options.pooledOutput) {
      pooled = emit('Flatten', 'pooled', [emit('GlobalAveragePool', 'pooled.mean', [out])], [intAttribute('axis', 1)]);
    }
    if (layout === 'nhwc') out = emit('Transpose', `${out}.nhwc`, [out], [intsAttribute('perm', [0, 2, 3, 1])]);
  }
  // The output value takes the public name; its node keeps its layer's.
  const outName = signature.output.name;
  for (const n of node) {
    n.input = n.input.map((v) => (v === out ? outName : v));
    n.output = n.output.map((v) => (v === out ? outName : v));
  }
  return {
    name: 'mobilenetv2',
    node,
    initializer,
    input: [floatValue(ONNX_INPUT, signature.input.shape, `images, ${layout.toUpperCase()} float32, normalized as metadata_props mean and std say`)],
    output: [floatValue(outName, signature.output.shape), ...(pooled ? [floatValue(pooled, ['batch', arch.last.outChannels])] : [])],
  };
}
