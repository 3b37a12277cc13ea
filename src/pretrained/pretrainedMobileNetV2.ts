import { scaledResize } from '../data/evalTransform.js';
import { InputError, received } from '../errors.js';
import { checkBoolean, checkOptions, checkSize } from '../options/check.js';
import type { tf } from '../tf.js';
import type { ModelMetadata } from '../training/metadata.js';
import { loadStateDict, readWeightsFile } from '../weights/loadTorchWeights.js';
import { parseStateDict } from '../weights/stateDict.js';
import { buildTorchMobileNetV2, measureTorchMobileNetV2 } from '../weights/torchArchitecture.js';
import { IMAGENET_CLASSES } from './imagenetClasses.js';
import { PRETRAINED_FILE_OPTIONS, pretrainedFile, type PretrainedFileOptions } from './pretrainedFile.js';
import { type PretrainedName, type PretrainedSpec, pretrainedSpec } from './weights.js';

/** Options of {@link pretrainedMobileNetV2}; also those of {@link pretrainedFile} (cache, mirror, progress). */
export interface PretrainedMobileNetV2Options extends PretrainedFileOptions {
  /** Which weights: a name, or a spec of your own (file name and sha256 prefix). Default 'imagenet' (torchvision's default, IMAGENET1K_V2). */
  weights?: PretrainedName | PretrainedSpec;
  /**
   * A local weights file (.pth or .safetensors) to use instead of the cache and the download;
   * read as it is, without the hash check. Any torchvision MobileNetV2 state_dict loads: the
   * width multiplier and the classes are read off its shapes, so a model trained or fine-tuned
   * in PyTorch (`mobilenet_v2(width_mult=α, num_classes=N)`) runs here as it is. Its transform is
   * taken to be that of `weights`. Default: none.
   */
  file?: string;
  /**
   * Names of the classifier's outputs, in order (with `file`). Default: ImageNet's for a
   * 1,000-class classifier, else '0', '1', ….
   */
  classNames?: readonly string[];
  /**
   * Input size, N or [height, width]. The network is fully convolutional, so the ImageNet
   * weights load at any size; accuracy is best near 224. Default 224.
   */
  inputSize?: number | readonly [number, number];
  /** Keep the classifier (ImageNet's 1,000 classes, or the file's). Default true; false ends at the last conv, see `pooling`. */
  includeTop?: boolean;
  /** Without the top: 'avg' ends with the pooled 1280-d features, 'none' with the last conv's map. Default 'avg'. */
  pooling?: 'avg' | 'none';
}

/**
 * The metadata a model built from pretrained weights records: ImageNet's class names, the eval
 * transform (mean, std and `resize`, the shorter side before the center crop, scaled to the
 * input size) and which weights. Models fine-tuned from it keep `resize`, so `predict` needs no flags.
 *
 * @example
 * pretrainedMetadata(PRETRAINED.IMAGENET1K_V2, [224, 224]).resize; // 232
 */
export function pretrainedMetadata(spec: PretrainedSpec, inputSize: readonly [number, number]): ModelMetadata {
  const [h, w] = inputSize;
  return {
    classNames: [...IMAGENET_CLASSES],
    mean: [...spec.transform.mean],
    std: [...spec.transform.std],
    inputSize: [h, w],
    inputShape: [h, w, 3],
    resize: scaledResize(spec.transform, [h, w]),
    weights: spec.name,
  };
}

/**
 * MobileNetV2 with torchvision's ImageNet weights, downloaded on first use (see
 * {@link pretrainedFile}: torch.hub's cache is reused, the sha256 is verified, the write is atomic)
 * and read straight from PyTorch's `.pth`. Outputs are torchvision's: logits over the 1,000
 * ImageNet classes in `IMAGENET_CLASSES` order. Feed it {@link preprocessImage} output; the
 * model's metadata records the transform, so {@link loadClassifier} and the CLI apply it.
 *
 * @example
 * const model = await pretrainedMobileNetV2(); // IMAGENET1K_V2 at 224
 * const x = await preprocessImage('cat.jpg');
 * const logits = model.predict(x.expandDims(0)) as tf.Tensor2D;
 */
export async function pretrainedMobileNetV2(options: PretrainedMobileNetV2Options = {}): Promise<tf.LayersModel> {
  checkOptions(options, [...PRETRAINED_FILE_OPTIONS, 'weights', 'file', 'classNames', 'inputSize', 'includeTop', 'pooling'], 'pretrainedMobileNetV2');
  const weights = options.weights ?? 'imagenet';
  const spec = typeof weights === 'object' && weights !== null ? weights : pretrainedSpec(weights);
  // Five stride-2 layers: smaller inputs leave nothing to pool.
  const [h, w] = checkSize('inputSize', options.inputSize ?? 224, 32);
  const includeTop = checkBoolean('includeTop', options.includeTop ?? true);
  const pooling = options.pooling ?? 'avg';
  if (pooling !== 'avg' && pooling !== 'none') throw new InputError(`pooling must be 'avg' or 'none'; received \`pooling=${received(pooling)}\``);
  const fileOptions = Object.fromEntries(Object.entries(options).filter(([key]) => (PRETRAINED_FILE_OPTIONS as string[]).includes(key)));
  const path = options.file ?? (await pretrainedFile(spec, fileOptions)).path;
  const stateDict = parseStateDict(await readWeightsFile(path), path);
  const measured = measureTorchMobileNetV2(stateDict, path);
  if (measured.arch !== 'imagenet' || measured.channels !== 3) {
    throw new InputError(`${path}: a MobileNetV2 for ${measured.channels}-channel input with the MNIST table; load it with mobileNetV2Mnist(options) and loadTorchWeights, or fine-tune from it (finetune --weights FILE)`);
  }
  const numClasses = measured.numClasses ?? 1000;
  if (includeTop && measured.numClasses === null) throw new InputError(`${path}: has no classifier (classifier.1.weight); load it with includeTop: false`);
  const names = options.classNames === undefined
    ? (numClasses === 1000 ? [...IMAGENET_CLASSES] : Array.from({ length: numClasses }, (_, i) => String(i)))
    : [...options.classNames];
  if (names.length !== numClasses || !names.every((n) => typeof n === 'string')) {
    throw new InputError(`classNames must be ${numClasses} strings, one per output of ${path}'s classifier; received ${names.length}`);
  }
  const model = buildTorchMobileNetV2('imagenet', {
    inputShape: [h, w, 3], includeTop, pooling, numClasses, alpha: measured.alpha, lastChannels: measured.lastChannels,
  });
  try {
    // Loaded leniently, then checked here: without the top the file's classifier is expected to be
    // left over, but anything else that does not fit must fail, not leave those layers at their
    // random initialization.
    const result = loadStateDict(model, stateDict, path, false);
    const extra = result.unexpected.filter((key) => includeTop || !key.startsWith('classifier.'));
    const [mismatch] = result.mismatched;
    const problem = mismatch
      ? `${mismatch.key} has shape [${mismatch.received.join(', ')}], the model needs [${mismatch.expected.join(', ')}]`
      : result.missing.length ? `${result.missing[0]} is missing` : extra.length ? `${extra[0]} is not a key of the model` : undefined;
    if (problem !== undefined) {
      const count = result.mismatched.length + result.missing.length + extra.length;
      throw new InputError(`${path}: not the weights of torchvision's MobileNetV2 (α = ${measured.alpha}, ${numClasses} classes): ${problem}${count > 1 ? ` (and ${count - 1} more)` : ''}; load other MobileNetV2 weights with mobileNetV2(options) and loadTorchWeights, or fine-tune from them (finetune --weights FILE)`);
    }
    const { classNames: _imagenet, ...transform } = pretrainedMetadata(spec, [h, w]);
    const weightsName = options.file === undefined || (measured.alpha === 1 && numClasses === 1000) ? transform.weights : options.file;
    // Without the classifier the outputs are features, not classes.
    const recorded = model.getUserDefinedMetadata() as Record<string, unknown>;
    model.setUserDefinedMetadata({ ...recorded, ...(includeTop && { classNames: names }), ...transform, weights: weightsName });
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}
