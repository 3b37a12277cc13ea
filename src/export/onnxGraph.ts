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

/** The graph's one input and one output name, documented in the README. */
export const ONNX_INPUT = 'input';
export const onnxOutputName = (head: Head): 'logits' | 'probabilities' | 'features' =>
  head.kind !== 'classifier' ? 'features' : head.activation === 'softmax' ? 'probabilities' : 'logits';

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
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const node = (op: string, name: string, input: string[], attribute?: NodeProto['attribute']): string => {
    nodes.push({ name, op_type: op, input, output: [name], ...(attribute && { attribute }) });
    return name;
  };
  const initializer = (name: string, dims: number[], values: Float32Array) => {
    initializers.push(floatTensor(name, dims, values));
    return name;
  };
  const [h, w, c] = arch.inputShape;
  // Clip's bounds are inputs from opset 11 on: one pair of scalars for every ReLU6.
  const relu6 = { min: initializer('relu6.min', [], new Float32Array([0])), max: initializer('relu6.max', [], new Float32Array([6])) };

  const unit = (u: ConvUnit, x: string): string => {
    const { weight, bias } = weights.conv(u);
    const group = u.op === 'depthwise' ? u.inChannels : 1;
    const k = u.kernelSize;
    const p = u.padding;
    const conv = node('Conv', u.layers.conv, [
      x,
      initializer(`${u.layers.conv}.weight`, [u.outChannels, u.inChannels / group, k, k], weight),
      initializer(`${u.layers.conv}.bias`, [u.outChannels], bias),
    ], [
      intsAttribute('kernel_shape', [k, k]),
      intsAttribute('strides', [u.stride, u.stride]),
      intsAttribute('pads', [p, p, p, p]),
      intsAttribute('dilations', [1, 1]),
      intAttribute('group', group),
    ]);
    return u.layers.act ? node('Clip', u.layers.act, [conv, relu6.min, relu6.max]) : conv;
  };
  const head = (hd: Head, x: string): string => {
    if (hd.kind === 'none') return x;
    const pooled = node(hd.kind === 'pool' && hd.pooling === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', hd.layers.pool, [x]);
    const flat = node('Flatten', `${hd.layers.pool}.flatten`, [pooled], [intAttribute('axis', 1)]);
    if (hd.kind === 'pool') return flat;
    const { kernel, bias } = weights.classifier!;
    const name = hd.layers.classifier;
    const logits = node('Gemm', name, [flat, initializer(`${name}.weight`, [hd.inFeatures, hd.numClasses], kernel), initializer(`${name}.bias`, [hd.numClasses], bias)]);
    return hd.activation === 'softmax' ? node('Softmax', `${name}.softmax`, [logits], [intAttribute('axis', 1)]) : logits;
  };

  const entry = layout === 'nhwc' ? node('Transpose', `${ONNX_INPUT}.nchw`, [ONNX_INPUT], [intsAttribute('perm', [0, 3, 1, 2])]) : ONNX_INPUT;
  let out = runArchitecture(arch, entry, { unit, add: (block, a, b) => node('Add', block.shortcut!.layer, [a, b]), head });
  const [oh, ow] = options.freeSize ? ['out_height', 'out_width'] : arch.last.outputSize;
  const outC = arch.outputShape.at(-1)!;
  let outDims: (number | string)[] = ['batch', outC];
  let pooled: string | null = null;
  if (options.pooledOutput && arch.head.kind === 'classifier') pooled = `${arch.head.layers.pool}.flatten`;
  if (arch.head.kind === 'none') {
    if (options.pooledOutput) {
      pooled = node('Flatten', 'pooled', [node('GlobalAveragePool', 'pooled.mean', [out])], [intAttribute('axis', 1)]);
    }
    outDims = layout === 'nhwc' ? ['batch', oh, ow, outC] : ['batch', outC, oh, ow];
    if (layout === 'nhwc') out = node('Transpose', `${out}.nhwc`, [out], [intsAttribute('perm', [0, 2, 3, 1])]);
  }
  // The output value takes the public name; its node keeps its layer's.
  const outName = onnxOutputName(arch.head);
  for (const n of nodes) {
    n.input = n.input.map((v) => (v === out ? outName : v));
    n.output = n.output.map((v) => (v === out ? outName : v));
  }

  const [ih, iw] = options.freeSize ? ['height', 'width'] : [h, w];
  const inDims = layout === 'nhwc' ? ['batch', ih, iw, c] : ['batch', c, ih, iw];
  return {
    name: 'mobilenetv2',
    node: nodes,
    initializer: initializers,
    input: [floatValue(ONNX_INPUT, inDims, `images, ${layout.toUpperCase()} float32, normalized as metadata_props mean and std say`)],
    output: [floatValue(outName, outDims), ...(pooled ? [floatValue(pooled, ['batch', arch.last.outChannels])] : [])],
  };
}
