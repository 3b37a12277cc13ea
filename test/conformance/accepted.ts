/**
 * Every tfjs-core spec that passes with TF.js's stock kernels and may fail with this library's,
 * with the reason it is accepted on purpose. conformance.test.ts fails on any other.
 */
export interface AcceptedDifference {
  /** The spec's full jasmine name, which includes the backend (`conv2d cpu {} ...`). */
  spec: string;
  reason: string;
}

export const ACCEPTED_DIFFERENCES: readonly AcceptedDifference[] = [];

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
];
