/**
 * Every tfjs-core spec that passes with TF.js's stock kernels and may fail with this library's,
 * with the reason it is accepted on purpose. conformance.test.ts fails on any other.
 */
export interface AcceptedDifference {
  /**
   * The spec's full jasmine name, which includes the backend (`conv2d cpu {} ...`); a name
   * that several specs share gets ` (#2)`, ` (#3)` in order.
   */
  spec: string;
  reason: string;
}

export const ACCEPTED_DIFFERENCES: readonly AcceptedDifference[] = [];

/**
 * Where this library's kernels give other results than TF.js's stock kernels on purpose, all
 * on 'wasm' and nearly all for input where the stock wasm kernel reads or writes outside its
 * buffers (which damages TF.js's heap for every later op). The fuzz tests (test/fuzz) check each.
 */
export const BEHAVIOUR_DIFFERENCES: readonly { input: string; stock: string; library: string }[] = [
  {
    input: 'tf.pad / PadV2 with negative paddings (float32, int32, bool; any rank)',
    stock: 'cpu: each element at its shifted flat index (rows wrap); wasm: writes outside its output',
    library:
      'wasm: crops (the stock cpu result wherever nothing wraps; a bool pad value other than 0 and 1, e.g. −3, is stored ' +
      'as stock wasm pads it, true, where stock cpu keeps its low byte, 253); cpu: stock',
  },
  {
    input: 'PadV2 whose negative paddings crop more than the input has',
    stock: 'cpu: RangeError (negative typed array length); wasm: writes outside its output',
    library: 'wasm: RejectedInput naming the paddings; cpu: stock',
  },
  {
    input: 'PadV2 (a direct kernel call) whose paddings are not one pair of whole numbers per axis',
    stock: 'cpu: garbled output or a RangeError; wasm: reads past the paddings it is given',
    library: 'wasm: RejectedInput naming the paddings; cpu: stock',
  },
  {
    input: 'PadV2 of string or complex64 tensors (a direct kernel call; tf.pad rejects strings)',
    stock: "cpu: pads strings, rejects complex64 with its own error; wasm: aborts (strings), writes nothing (complex64)",
    library: 'wasm: RejectedInput naming the dtype; cpu: stock',
  },
  {
    input: 'Slice (any dtype) with begin + size beyond the input',
    stock: "cpu: assertParamsValid's error; wasm: reads outside its input",
    library: "both: assertParamsValid's error",
  },
  {
    input: 'Conv2D / FusedConv2D / DepthwiseConv2dNative / FusedDepthwiseConv2D / backprops whose output size would be negative (e.g. dilated filters larger than the input)',
    stock: 'cpu: throws; wasm: writes outside its output',
    library: 'wasm: RejectedInput naming the output shape; cpu: stock',
  },
  {
    input: "'same' convs with strides > 1 and a filter larger than 1×1 where TensorFlow's total pad along an axis is negative (it clamps it to 0)",
    stock: 'cpu: right; wasm (XNNPACK): wrong numbers for Conv2D, zeros for depthwise convs',
    library:
      "both: stock cpu's numbers (this library's kernel; a fused depthwise activation it lacks runs on stock with the explicit " +
      "pads 'same' amounts to). A FusedConv2D activation or bias that ours does not fuse still runs on stock",
  },
  {
    input: 'Conv2DBackpropInput (conv2dTranspose) with dy smaller than the conv of inputShape gives',
    stock: 'cpu: reads dy with its own strides (wrapped rows, NaN past its end); wasm: reads outside dy',
    library: "wasm: RejectedInput naming both shapes; cpu: stock. A larger dy (conv2dTranspose's own case) runs on stock",
  },
];

/**
 * Specs that fail on stock wasm (it has no kernels for some gradients, e.g. depthwise and
 * filter gradients) and pass with this library's kernels; conformance.test.ts keeps them passing.
 */
export const LIBRARY_FIXES: readonly string[] = [
  'customGradient wasm {} second order derivative through customGradient',
  'customGradient wasm {} calling gradient of custom op twice works',
  'gradient registry wasm {} register a kernel with gradient and call it',
  'gradient registry wasm {} register a kernel with gradient that specifies outputsToSave and call it',
  'conv1d wasm {} gradient with clones, input=2x2x1,d2=1,f=1,s=1,d=1,p=same',
  'conv1d wasm {} conv1d gradients input=14x1,d2=1,f=3x1x1,s=1,p=valid',
  'conv2d wasm {} gradient with clones input=[3,3,1] f=[2,2,1,1] s=1 p=0',
  'conv2d wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0',
  'conv2dTranspose wasm {} gradient with clones input=[1,3,3,1] f=[2,2,2,1] s=1 padding=valid',
  'conv2dTranspose wasm {} gradient input=[1,2,2,1] f=[2,2,2,1] s=[2,2] padding=valid',
  'conv2dTranspose wasm {} gradient input=[1,3,3,1] f=[2,2,2,1] s=[1,1] padding=same',
  'conv2dTranspose wasm {} gradient input=[1,3,3,1] f=[2,2,2,1] s=[1,1] p=explicit',
  'conv2dTranspose wasm {} gradient input=[1,2,2,2] f=[2,2,2,1] s=[2,2] padding=same',
  'depthwiseConv2d gradients wasm {} wrt input',
  'depthwiseConv2d gradients wasm {} wrt input, squared output',
  'depthwiseConv2d gradients wasm {} wrt filter',
  'depthwiseConv2d gradients wasm {} gradient with clones',
  'depthwiseConv2d gradients wasm {} gradient with clones (#2)',
  'depthwiseConv2d gradients wasm {} wrt filter, squared output',
  'depthwiseConv2d gradients wasm {} wrt input, stride=2, pad=valid',
  'depthwiseConv2d gradients wasm {} wrt filter, stride=2, pad=valid',
  'fused conv2d wasm {} basic with broadcasted bias and relu',
  'fused conv2d wasm {} im2row with broadcasted bias and relu',
  'fused conv2d wasm {} backProp input x=[2,3,3,1] f=[2,2,1,1] s=1 p=0',
  'fused conv2d wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0',
  'fused conv2d wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0 with bias and relu',
  'fused conv2d wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0 with bias and elu',
  'fused depthwiseConv2D wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0',
  'fused depthwiseConv2D wasm {} gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0 with bias and activation',
  'logSigmoid wasm {} gradient with clones',
  'logSoftmax wasm {} 1D gradient',
  // Stock wasm's Slice reads past its input here; the library's checks the bounds first.
  'slice2d wasm {} throws when requesting out of bounds slice',
];
