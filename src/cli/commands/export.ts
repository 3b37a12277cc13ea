import path from 'node:path';
import { promises as fs } from 'node:fs';
import { useBackend } from '../../backend/useBackend.js';
import { InputError } from '../../errors.js';
import { exportOnnx } from '../../export/exportOnnx.js';
import { onnxSignature } from '../../export/onnxGraph.js';
import { ONNX_OPSET } from '../../export/onnxProto.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { loadModel } from '../../io/fileSystem.js';
import { exportTfjs } from '../../export/tfjs.js';
import { QUANTIZE_DTYPES } from '../../io/quantize.js';
import { requireArchitecture } from '../../models/architectureOf.js';
import type { tf } from '../../tf.js';
import { BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { checkModelSource, openPretrained } from '../openModel.js';

const FORMATS = ['onnx', 'tfjs'] as const;
const LAYOUTS = ['nchw', 'nhwc'] as const;

const FLAGS: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'a model saved by this library (trained, fine-tuned): a directory with model.json, or the model.json itself' },
  weights: {
    type: 'string', value: 'NAME|FILE',
    help: "instead of --model: torchvision's ImageNet classifier, 'imagenet' (= IMAGENET1K_V2), IMAGENET1K_V1 or IMAGENET1K_V2 (downloaded once), or a torchvision MobileNetV2 .pth/.safetensors of any width and classes",
  },
  labels: { type: 'string', value: 'FILE', help: "with --weights FILE: a text file of class names, one per line in output order (default: ImageNet's for 1,000 classes, else 0, 1, ...)" },
  format: { type: 'string', value: FORMATS.join('|'), help: 'onnx: one .onnx file (opset 13); tfjs: a TF.js layers model directory (model.json + weights) (required)' },
  out: { type: 'string', value: 'FILE|DIR', help: 'where to write: FILE.onnx for onnx, a directory for tfjs (required)' },
  layout: { type: 'string', value: LAYOUTS.join('|'), help: "onnx: the input's axis order, PyTorch's NCHW or TF.js's NHWC (default nchw)" },
  quantize: {
    type: 'string', value: QUANTIZE_DTYPES.join('|'),
    help: "tfjs: store the weights as float16 (half the size) or uint8 (a quarter; BatchNorm statistics stay float16) in TF.js's standard quantized manifest, which stock tf.loadLayersModel reads (default float32)",
  },
  ...COMMON_FLAGS,
};

async function openModel(model: string | undefined, weights: string | undefined, labels: string | undefined, io: Parameters<Command['run']>[1]): Promise<tf.LayersModel> {
  checkModelSource('export', model, weights, labels);
  if (model !== undefined) return loadModel(path.basename(model) === 'model.json' ? path.dirname(model) : model);
  return openPretrained(weights!, labels, io);
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model for other runtimes: ONNX (onnxruntime, TensorRT, OpenVINO, ...) or TF.js',
  help: () => `Usage: mobilenetv2 export (--model DIR | --weights imagenet|FILE) --format onnx|tfjs --out PATH [options]

Writes a MobileNetV2 of this library (trained, fine-tuned, or torchvision weights) for another
runtime. --format onnx writes one ONNX file (opset 13, IR version 7): BatchNorm folded into the
convs, ReLU6 as Clip, a free batch axis. Its input is 'input', float32 [batch, channels, height,
width] (--layout nhwc: [batch, height, width, channels]), pixels / 255 normalized with the model's
mean and std; its output is 'logits' (or 'probabilities' for a softmax head, 'features' without
a classifier). metadata_props records classNames, mean, std, inputSize, resize, layout and the
architecture as JSON values, so a consumer needs no other file. --format tfjs writes a plain
TF.js layers model (model.json + weights) that stock tf.loadLayersModel reads; with --quantize
float16|uint8 its weights are stored quantized (TF.js's standard manifest; loads the same way).

For TFLite, convert the ONNX file (onnx2tf, or ai-edge-torch from the PyTorch side).

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is {"format", "out", "bytes", "input", "output", "layout"}
(for tfjs {"format", "out", "bytes", "dtype", "weightBytes", "float32WeightBytes"}).

Examples:
  mobilenetv2 export --model runs/flowers --format onnx --out flowers.onnx
  mobilenetv2 export --weights imagenet --format onnx --layout nhwc --out mobilenet_v2_nhwc.onnx
  mobilenetv2 export --model runs/flowers --format tfjs --out web/model
  mobilenetv2 export --model runs/flowers --format tfjs --quantize uint8 --out web/model-uint8`,

  async run(argv, io) {
    const { flags } = parseFlags('export', argv, FLAGS);
    const format = choiceFlag(flags, 'format', FORMATS);
    if (format === undefined) throw new InputError(`--format ${FORMATS.join('|')} is required; run 'mobilenetv2 export --help' for the options`);
    const out = stringFlag(flags, 'out');
    if (out === undefined) throw new InputError(`--out is required (${format === 'onnx' ? 'FILE.onnx' : 'a directory'}); run 'mobilenetv2 export --help' for the options`);
    const layout = choiceFlag(flags, 'layout', LAYOUTS);
    if (format === 'onnx' && path.extname(out).toLowerCase() !== '.onnx') throw new InputError(`--out must be a .onnx file with --format onnx; received ${JSON.stringify(out)}`);
    if (format !== 'onnx' && layout !== undefined) throw new InputError('--layout goes with --format onnx (a TF.js model is NHWC)');
    const quantize = choiceFlag(flags, 'quantize', QUANTIZE_DTYPES);
    if (format === 'onnx' && quantize !== undefined) throw new InputError('--quantize goes with --format tfjs (the ONNX export is float32)');
    const model = stringFlag(flags, 'model');
    const weights = stringFlag(flags, 'weights');
    const labels = stringFlag(flags, 'labels');
    checkModelSource('export', model, weights, labels);
    await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');

    const source = await openModel(model, weights, labels, io);
    try {
      let summary: Record<string, unknown>;
      if (format === 'onnx') {
        const options = { layout: layout ?? 'nchw' } as const;
        const { input, output } = onnxSignature(requireArchitecture(source, 'mobilenetv2 export --format onnx'), options);
        const bytes = await exportOnnx(source, options);
        try {
          await fs.mkdir(path.dirname(out), { recursive: true });
          await writeFileAtomic(out, bytes);
        } catch (error) {
          throw new InputError(`${out}: cannot write the ONNX file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
        }
        io.logger.info(`wrote ${out} (${megabytes(bytes.length)}, ONNX opset ${ONNX_OPSET}): '${input.name}' [${input.shape.join(', ')}] float32 → '${output.name}' [${output.shape.join(', ')}]`);
        summary = { format, out, bytes: bytes.length, input, output, layout: options.layout };
      } else {
        if ((await fs.stat(out).catch(() => null))?.isFile() && !out.endsWith('.json')) {
          throw new InputError(`--out ${out} is a file; with --format tfjs it must be a directory (for model.json and its weights)`);
        }
        const r = await exportTfjs(source, out, { ...(quantize && { quantize }) });
        const bytes = r.weightBytes + r.modelJsonBytes;
        io.logger.info(`wrote ${r.out} (${megabytes(bytes)}, TF.js layers model: model.json + ${r.dtype} weights${quantize ? `, ${(100 * r.weightBytes / r.float32WeightBytes).toFixed(1)}% of float32's` : ''})`);
        summary = { format, out: r.out, bytes, dtype: r.dtype, weightBytes: r.weightBytes, float32WeightBytes: r.float32WeightBytes };
      }
      if (flags.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    } finally {
      source.dispose();
    }
    return 0;
  },
};
