export { tf } from './tf.js';
export { InputError } from './errors.js';
export { makeDivisible } from './layers/makeDivisible.js';
export { convBNReLU6, type ConvBNReLU6Args, type ConvUnitNames } from './layers/convBnRelu6.js';
export { invertedResidual, hasShortcut, type InvertedResidualArgs } from './layers/invertedResidual.js';
export type { BatchNormOptions } from './layers/batchNorm.js';
export { mobileNetV2, IMAGENET_SETTING } from './models/mobilenetv2.js';
export { mobileNetV2Mnist, MNIST_SETTING } from './models/mnist.js';
export type { MobileNetV2Options, InvertedResidualRow, Pooling } from './models/options.js';
export { summarize, formatSummary, type ModelSummary, type LayerSummary } from './models/summarize.js';
export { fileSystem, loadModel } from './io/fileSystem.js';
export { useBackend, type BackendName } from './backend/useBackend.js';
export type { Dataset, Batch, BatchOptions } from './data/dataset.js';
export { type Logger, silentLogger, stderrLogger } from './logger.js';
export { loadTorchWeights, type LoadTorchWeightsOptions, type LoadTorchWeightsResult, type ShapeMismatch } from './weights/loadTorchWeights.js';
export { saveTorchWeights, torchStateDict } from './weights/saveTorchWeights.js';
export { torchKeyMap, type TorchKeyMap, type TorchParam } from './weights/torchKeys.js';
export {
  parseSafetensors, decodeTensor, decodeFloat32, encodeSafetensors, readSafetensors, writeSafetensors,
  type SafetensorsDtype, type SafetensorsEntry, type SafetensorsFile, type SafetensorsInput,
} from './weights/safetensors.js';
export { imageFolder, scanImageFolder, type ImageFolder, type ImageFolderOptions, type ImageFolderSummary, type ImageFolderScan, type CacheMode } from './data/imageFolder.js';
export { decodeImage, IMAGE_EXTENSIONS, type ResizeFit, type DecodeOptions } from './data/decodeImage.js';
export { stratifiedSplit, type Split } from './data/split.js';
export { subset } from './data/subset.js';
export { augmentBatch, type AugmentOptions } from './data/augment.js';
export { fineTune, type FineTuneOptions, type FineTuneResult, type FineTuneStage } from './training/finetune.js';
export { fineTuneImageFolder, type FineTuneFolderOptions, type FineTuneFolderResult } from './training/finetuneFolder.js';
export { loadStartingPoint, IMAGENET_MEAN, IMAGENET_STD, type Architecture, type StartingPoint, type StartingPointOptions } from './training/finetuneStart.js';
export { rebuildWithHead, copyWeightsByName, freezeFeatures, splitAtHead, HEAD_LAYER, type RebuildOptions, type TransferReport, type HeadSplit } from './training/finetuneModel.js';
export { writeConfusionMatrix } from './training/finetuneConfusion.js';
export { loadClassifier, classifyImages, type Classifier, type ClassScore, type Prediction, type ClassifyOptions } from './training/finetunePredict.js';
