import path from 'node:path';
import { useBackend } from '../../backend/useBackend.js';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { EngineOptions } from '../../engines/engine.js';
import { type Classifier, classifierOf, classifyImages, embedImages, loadClassifier } from '../../predict/classifier.js';
import { encodeNpy } from '../../predict/npy.js';
import { ENGINE_FLAGS, engineFlags } from '../engineFlags.js';
import { checkModelSource, openPretrained } from '../openModel.js';
import { BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, intFlag, parseFlags, stringFlag, workersFlag } from '../args.js';
import type { Command, CliIO } from '../command.js';

const FLAGS: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'a saved model: a directory with model.json, or the model.json itself' },
  weights: {
    type: 'string', value: 'NAME|FILE',
    help: "instead of --model: torchvision's ImageNet classifier, 'imagenet' (= IMAGENET1K_V2), IMAGENET1K_V1 or IMAGENET1K_V2 (downloaded once), or a local torchvision MobileNetV2 .pth/.safetensors of any width and classes (e.g. fine-tuned in PyTorch)",
  },
  labels: { type: 'string', value: 'FILE', help: 'with --weights FILE: a text file of class names, one per line in output order (default: ImageNet\'s for 1,000 classes, else 0, 1, ...)' },
  features: { type: 'string', value: 'FILE', help: 'also write the pooled features (embeddings) of every image: FILE.npy ([images, channels] float32) or FILE.jsonl' },
  'top-k': { type: 'string', value: 'K', help: 'classes shown per image (default 5)' },
  'batch-size': { type: 'string', value: 'N', help: 'images per forward pass (default 32)' },
  workers: { type: 'string', value: 'N|auto', help: 'tfjs engine: threads for the forward passes, each with a copy of the model (default auto: one per core, with 4+ batches each)' },
  ...ENGINE_FLAGS,
  ...COMMON_FLAGS,
};

async function openClassifier(model: string | undefined, weights: string | undefined, labels: string | undefined, engine: EngineOptions, io: CliIO): Promise<Classifier> {
  checkModelSource('predict', model, weights, labels);
  const { engine: which, threads } = engine;
  if (model !== undefined) return loadClassifier(model, { engine: which, threads });
  return { ...classifierOf(await openPretrained(weights!, labels, io), weights!), engine: which, threads };
}

async function writeFeatures(file: string, files: readonly string[], features: Float32Array, dim: number): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  let bytes: string | Uint8Array;
  if (ext === '.npy') {
    bytes = encodeNpy(features, [files.length, dim]);
  } else if (ext === '.jsonl') {
    bytes = files.map((f, i) => `${JSON.stringify({ file: f, features: Array.from(features.subarray(i * dim, (i + 1) * dim)) })}\n`).join('');
  } else {
    throw new InputError(`--features must end in .npy or .jsonl; received ${JSON.stringify(file)}`);
  }
  try {
    await writeFileAtomic(file, bytes);
  } catch (error) {
    throw new InputError(`${file}: cannot write the features (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'classify image files with a saved model or ImageNet weights (top-k classes, probabilities, embeddings)',
  help: () => `Usage: mobilenetv2 predict (--model DIR | --weights imagenet) IMAGE... [options]

Classifies each IMAGE (PNG, JPEG, WebP, GIF) with a model saved by this library, with
torchvision's ImageNet weights (1,000 classes), or with a torchvision MobileNetV2 state_dict of
any width and classes saved by PyTorch (--weights FILE, --labels for its class names). Images are preprocessed as the model expects,
from its model.json metadata: resized (for pretrained weights and models fine-tuned from them,
torchvision's eval transform: shorter side 232, center crop 224), converted to its channel count
and normalized with its mean and std; probabilities are the softmax of the model's logits.
With onnxruntime-node installed the forward passes run on it (--engine; stderr names the engine).

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is [{"file", "top": [{"className", "index", "probability"}, ...]}, ...].

Weights given by name are cached in $MOBILENETV2_TFJS_HOME (default $XDG_CACHE_HOME/mobilenetv2-tfjs, else ~/.cache/mobilenetv2-tfjs; torch.hub's
cache is used too) and downloaded from $MOBILENETV2_TFJS_WEIGHTS_URL (default https://download.pytorch.org/models/).

Examples:
  mobilenetv2 predict --weights imagenet photo.jpg
  mobilenetv2 predict --model runs/digits --top-k 3 seven.png four.jpg
  mobilenetv2 predict --weights imagenet --features embeddings.npy images/*.jpg
  mobilenetv2 predict --weights my_mobilenet_v2.pth --labels classes.txt photo.jpg`,

  async run(argv, io) {
    const { flags, positionals } = parseFlags('predict', argv, FLAGS, true);
    const model = stringFlag(flags, 'model');
    const weights = stringFlag(flags, 'weights');
    const features = stringFlag(flags, 'features');
    if (features !== undefined && !['.npy', '.jsonl'].includes(path.extname(features).toLowerCase())) {
      throw new InputError(`--features must end in .npy or .jsonl; received ${JSON.stringify(features)}`);
    }
    if (positionals.length === 0) throw new InputError('no images given; usage: mobilenetv2 predict (--model DIR | --weights imagenet) IMAGE...');
    const topK = intFlag(flags, 'top-k', 1) ?? 5;
    const batchSize = intFlag(flags, 'batch-size', 1) ?? 32;
    await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');
    const engine = engineFlags(flags, io.logger);
    const classifier = await openClassifier(model, weights, stringFlag(flags, 'labels'), engine, io);
    try {
      const predictions = await classifyImages(classifier, positionals, { topK, batchSize, workers: workersFlag(flags) ?? 'auto', logger: io.logger });
      if (features !== undefined) {
        const embedded = await embedImages(classifier, positionals, { batchSize });
        await writeFeatures(features, positionals, embedded.features, embedded.dim);
        io.logger.info(`wrote ${positionals.length}x${embedded.dim} features to ${features}`);
      }
      if (flags.json) {
        io.stdout.write(`${JSON.stringify(predictions)}\n`);
      } else {
        const width = Math.max(...predictions.flatMap((p) => p.top.map((c) => c.className.length)));
        for (const p of predictions) {
          io.stdout.write(`${p.file}\n`);
          for (const c of p.top) io.stdout.write(`  ${c.className.padEnd(width)}  ${(100 * c.probability).toFixed(2).padStart(6)}%\n`);
        }
      }
    } finally {
      classifier.model.dispose();
    }
    return 0;
  },
};
