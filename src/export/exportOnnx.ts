import { type Architecture, convUnits, type ConvUnit } from '../models/architecture.js';
import { requireArchitecture } from '../models/architectureOf.js';
import { bindArchitecture } from '../models/boundArchitecture.js';
import { checkOneOf, checkOptions } from '../options/check.js';
import { foldBatchNorm } from '../predict/inferencePlan.js';
import { tf } from '../tf.js';
import { VERSION } from '../version.js';
import { type OnnxConvWeights, onnxGraph, type OnnxGraphOptions, type OnnxLayout } from './onnxGraph.js';
import { metadataProps, onnxMetadata } from './onnxMetadata.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from './onnxProto.js';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * The input's axis order: 'nchw' ([batch, channels, height, width], PyTorch's, what
   * `torch.onnx.export` of torchvision's model takes) or 'nhwc' ([batch, height, width,
   * channels], TF.js's: the file then starts with a Transpose, and a feature-map output is
   * transposed back). Default 'nchw'.
   */
  layout?: OnnxLayout;
}

const OPTION_NAMES = ['layout'] as const satisfies readonly (keyof ExportOnnxOptions)[];

/**
 * The ONNX file (opset 13, IR version 7) of a MobileNetV2 of this library: any width, input
 * size, t/c/n/s table and head (classifier with or without softmax, avg/max pooling, none),
 * built, trained, fine-tuned or pretrained. It is built from the model's architecture
 * description, not its layer list, with each BatchNorm folded into its conv as the inference
 * plan runs it and ReLU6 as `Clip(0, 6)`; the batch axis is free. The input is named `input`;
 * the output `logits` (a linear classifier), `probabilities` (softmax) or `features` (pooled
 * [batch, channels], or the feature map). `metadata_props` records the class names, the
 * preprocessing (mean, std, inputSize, resize, layout) and the architecture, as JSON values.
 *
 * Any other model (an arbitrary `tf.LayersModel`, a MobileNetV2 with layers added by hand) is
 * refused with an `InputError` saying what is supported: a file that loads but computes
 * something else is never written. Reads the weights as they are now; leaves no tensors.
 *
 * @example
 * const bytes = await exportOnnx(await loadModel('runs/digits'));
 * await fs.writeFile('digits.onnx', bytes);
 * // onnxruntime: session.run({ input: new ort.Tensor('float32', pixels, [1, 1, 28, 28]) }).logits
 */
export async function exportOnnx(model: tf.LayersModel, options: ExportOnnxOptions = {}): Promise<Uint8Array> {
  checkOptions(options, OPTION_NAMES, 'exportOnnx');
  const layout = checkOneOf('layout', options.layout ?? 'nchw', ['nchw', 'nhwc']);
  return onnxModel(model, requireArchitecture(model, 'exportOnnx'), { layout });
}

/** {@link exportOnnx} of `model`, whose description is `arch`, with the graph's options (the engine's pooled output). */
export async function onnxModel(model: tf.LayersModel, arch: Architecture, options: OnnxGraphOptions): Promise<Uint8Array> {
  const { layout } = options;
  const meta = onnxMetadata(model, arch, layout);
  const bound = bindArchitecture(model, arch);

  // The folded filters in ONNX's OIHW order: TF's [kh, kw, in, out] → [out, in, kh, kw]; a
  // depthwise [kh, kw, channels, 1] → [channels, 1, kh, kw], the Conv of group = channels.
  const units = convUnits(arch);
  const tensors: tf.Tensor[] = [];
  let values: Float32Array[];
  try {
    for (const u of units) {
      const { filter, bias } = foldBatchNorm(bound.unit(u));
      tensors.push(bias, tf.transpose(filter, u.op === 'depthwise' ? [2, 3, 0, 1] : [3, 2, 0, 1]));
      filter.dispose();
    }
    // The Dense layer's own variables, not copies: read, never disposed.
    const head = arch.head.kind === 'classifier' ? bound.layer(arch.head.layers.classifier).getWeights() : [];
    values = (await Promise.all([...tensors, ...head].map((t) => t.data()))) as Float32Array[];
  } finally {
    tf.dispose(tensors);
  }
  const folded = new Map<ConvUnit, OnnxConvWeights>(units.map((u, i) => [u, { bias: values[2 * i]!, weight: values[2 * i + 1]! }]));
  const classifier = arch.head.kind === 'classifier' ? { kernel: values[2 * units.length]!, bias: values[2 * units.length + 1]! } : undefined;
  const graph = onnxGraph(arch, { conv: (u) => folded.get(u)!, ...(classifier && { classifier }) }, options);

  const { encodeModel } = await import('./onnxCodec.js');
  return encodeModel({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'mobilenetv2-tfjs',
    producer_version: VERSION,
    doc_string: `MobileNetV2 (${model.name}) exported by mobilenetv2-tfjs: BatchNorm folded into the convs; input ${layout.toUpperCase()} float32, pixels / 255 normalized with metadata_props mean and std.`,
    graph,
    metadata_props: metadataProps(meta),
  });
}
