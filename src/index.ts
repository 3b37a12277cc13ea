// The Node entry: the browser-safe API (browser.ts) plus what needs Node (file system, sharp,
// workers, the terminal), in browser.ts's groups and order; docs/api.md follows the same groups.
export * from './browser.js';

// ── Main verbs (Node): ImageNet weights, image folders, MNIST, data-parallel inference, files ───
export { pretrainedMobileNetV2, pretrainedMetadata, type PretrainedMobileNetV2Options } from './pretrained/pretrainedMobileNetV2.js';
export { fineTuneImageFolder, type FineTuneFolderOptions, type FineTuneFolderResult } from './finetune/folder.js';
export { trainMnist, type TrainMnistOptions, type TrainMnistResult } from './training/trainMnist.js';
export { evaluateImageFolder, type EvaluateImageFolderOptions, type ImageFolderEvaluation } from './training/evaluateImageFolder.js';
export { predictBatches, type PredictBatchesOptions } from './parallel/predictBatches.js';
export {
  loadClassifier, classifyImages, embedImages, classifierOf,
  type Classifier, type ClassScore, type Prediction, type ClassifyOptions, type LoadClassifierOptions, type EmbedImagesOptions,
} from './predict/classifier.js';
export { exportTfjs, type ExportTfjsOptions, type ExportTfjsResult } from './export/tfjs.js';
export { fileSystem, loadModel } from './io/fileSystem.js';

// ── Weights (Node): writing state_dicts, the download cache ────────────────────────────────────
export { saveTorchWeights } from './weights/saveTorchWeights.js';
export { writeSafetensors } from './weights/safetensors.js';
export { pretrainedFile, type PretrainedFile, type PretrainedFileOptions } from './pretrained/pretrainedFile.js';
export { weightsCacheDir, torchHubCheckpointsDir } from './pretrained/cacheDir.js';

// ── Data (Node): image folders and decoding through sharp, MNIST's IDX files ──────────────────
export { imageFolder, scanImageFolder, type ImageFolder, type ImageFolderOptions, type ImageFolderSummary, type ImageFolderScan, type SkippedPath, type CacheMode } from './data/imageFolder.js';
export { decodeImage, probeImage, IMAGE_EXTENSIONS, MAX_INPUT_PIXELS, type ResizeFit, type DecodeOptions } from './data/decodeImage.js';
export { preprocessImage, type PreprocessOptions } from './data/preprocess.js';
export { loadMnist, MnistDataset, embeddedMnistDir, MNIST_MEAN, MNIST_STD, MNIST_CLASS_NAMES, type MnistOptions, type MnistSplit } from './data/mnist.js';
export { readIdx, parseIdx, type IdxArray } from './data/idx.js';

// ── Training parts (Node): starting points, checkpoints, logs, plots, run directories ─────────
export { loadStartingPoint, IMAGENET_MEAN, IMAGENET_STD, type TableName, type StartingPoint, type StartingPointOptions } from './finetune/start.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type TrainerState } from './training/checkpoint.js';
export { MetricsLog, METRICS_FILE, type MetricsRecord } from './training/metricsLog.js';
export { writePlots, type PlotOptions } from './training/plots.js';
export { writeConfusionMatrix } from './finetune/confusion.js';
export { progressReporter, formatEpoch, type ProgressMode, type ProgressOptions } from './training/progress.js';
export { estimateStepBytes, OutOfMemoryError } from './training/memory.js';
export { resolveWorkers, type WorkersOption } from './parallel/workers.js';
export { lockRunDirectory, LOCK_FILE, type RunLock } from './io/runLock.js';

// ── Errors and logging (Node) ──────────────────────────────────────────────────────────────────
export { FileError } from './io/fileError.js';
export { WorkerError } from './parallel/thread.js';
export { stderrLogger } from './logger.js';
