// The Node entry: the browser-safe API plus what needs Node (file system, sharp, terminal).
export * from './browser.js';
export { fileSystem, loadModel } from './io/fileSystem.js';
export { stderrLogger } from './logger.js';
export { saveTorchWeights } from './weights/saveTorchWeights.js';
export { writeSafetensors } from './weights/safetensors.js';
export { imageFolder, scanImageFolder, type ImageFolder, type ImageFolderOptions, type ImageFolderSummary, type ImageFolderScan, type SkippedPath, type CacheMode } from './data/imageFolder.js';
export { decodeImage, probeImage, IMAGE_EXTENSIONS, MAX_INPUT_PIXELS, type ResizeFit, type DecodeOptions } from './data/decodeImage.js';
export { FileError } from './io/fileError.js';
export { lockRunDirectory, LOCK_FILE, type RunLock } from './io/runLock.js';
export { fineTuneImageFolder, type FineTuneFolderOptions, type FineTuneFolderResult } from './finetune/folder.js';
export { loadStartingPoint, IMAGENET_MEAN, IMAGENET_STD, type TableName, type StartingPoint, type StartingPointOptions } from './finetune/start.js';
export { writeConfusionMatrix } from './finetune/confusion.js';
export { evaluateImageFolder, type EvaluateImageFolderOptions, type ImageFolderEvaluation } from './training/evaluateImageFolder.js';
export {
  loadClassifier, classifyImages, type Classifier, type ClassScore, type Prediction, type ClassifyOptions, type LoadClassifierOptions, type EmbedImagesOptions,
} from './predict/classifier.js';
export { readIdx, parseIdx, type IdxArray } from './data/idx.js';
export { loadMnist, MnistDataset, embeddedMnistDir, MNIST_MEAN, MNIST_STD, MNIST_CLASS_NAMES, type MnistOptions, type MnistSplit } from './data/mnist.js';
export { predictBatches, type PredictBatchesOptions } from './parallel/predictBatches.js';
export { resolveWorkers, type WorkersOption } from './parallel/workers.js';
export { WorkerError } from './parallel/thread.js';
export { OutOfMemoryError, estimateStepBytes } from './training/memory.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type TrainerState } from './training/checkpoint.js';
export { MetricsLog, METRICS_FILE, type MetricsRecord } from './training/metricsLog.js';
export { writePlots, type PlotOptions } from './training/plots.js';
export { progressReporter, formatEpoch, type ProgressMode, type ProgressOptions } from './training/progress.js';
export { trainMnist, type TrainMnistOptions, type TrainMnistResult } from './training/trainMnist.js';
export { pretrainedMobileNetV2, pretrainedMetadata, type PretrainedMobileNetV2Options } from './pretrained/pretrainedMobileNetV2.js';
export { pretrainedFile, type PretrainedFile, type PretrainedFileOptions } from './pretrained/pretrainedFile.js';
export { weightsCacheDir, torchHubCheckpointsDir } from './pretrained/cacheDir.js';
export { preprocessImage, type PreprocessOptions } from './data/preprocess.js';
export { embedImages, classifierOf } from './predict/classifier.js';
export { exportTfjs, type ExportTfjsOptions, type ExportTfjsResult } from './export/tfjs.js';
