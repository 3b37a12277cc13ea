// The browser-safe API: everything here runs in a web page as in Node. The package's "browser"
// export is built from this file, with the Node-only modules it reaches swapped for their
// *.browser.ts stubs (see tsup.config.ts); index.ts (the Node entry) re-exports all of it.
//
// One package root, grouped: the main verbs first, then the parts they are made of
// (docs/api.md follows the same groups). There are no subpath exports on purpose: each build is
// one bundle, so the kernel registration and the module registries exist once per process.

// ── Main verbs: build, train, fine-tune, evaluate, export, choose a backend ─────────────────────
export { mobileNetV2, buildMobileNetV2, type BuildOptions } from './models/mobilenetv2.js';
export type { MobileNetV2Options, InvertedResidualRow, Pooling } from './models/options.js';
export { train, NonFiniteLossError, type TrainOptions, type TrainResult, type OptimizerName } from './training/trainer.js';
export type { TrainCallbacks, StepMetrics, EpochMetrics, TrainBeginInfo } from './training/types.js';
export { fineTune, SHORT_RUN_STEPS, type FineTuneOptions, type FineTuneResult, type FineTuneStage } from './finetune/finetune.js';
export { evaluate, type EvaluateOptions, type EvaluateResult } from './training/evaluate.js';
export { exportOnnx, type ExportOnnxOptions } from './export/exportOnnx.js';
export { useBackend, type BackendName } from './backend/useBackend.js';

// ── Architecture: the t/c/n/s table, its typed description, and the models built from it ───────
export {
  describeMobileNetV2, describeBlock, architectureConfig, convUnits, runArchitecture, runBlock, hasShortcut, IMAGENET_SETTING,
  type Architecture, type ArchitectureConfig, type ArchitectureOps, type Block, type ConvUnit, type Head,
} from './models/architecture.js';
export { architectureOf, requireArchitecture } from './models/architectureOf.js';
export { mobileNetV2Mnist, MNIST_SETTING } from './models/mnist.js';
export { summarize, formatSummary, type ModelSummary, type LayerSummary } from './models/summarize.js';
export { applyConvUnit, applyInvertedResidual, type BuildContext } from './layers/convUnit.js';
export { makeDivisible } from './layers/makeDivisible.js';
export { Init } from './layers/init.js';
export type { BatchNormOptions } from './layers/batchNorm.js';

// ── Weights: torchvision state_dicts (.pth, safetensors) and the pretrained registry ───────────
// Weight readers parse bytes, so they belong here; they read paths in Node and URLs in a page
// through io/bytes.ts. Downloading and caching are Node's, in index.ts.
export { loadTorchWeights, type LoadTorchWeightsOptions, type LoadTorchWeightsResult, type ShapeMismatch } from './weights/loadTorchWeights.js';
export { torchStateDict } from './weights/saveTorchWeights.js';
export { torchKeyMap, type TorchKeyMap, type TorchParam } from './weights/torchKeys.js';
export {
  parseSafetensors, decodeTensor, decodeFloat32, encodeSafetensors, readSafetensors,
  type SafetensorsDtype, type SafetensorsEntry, type SafetensorsFile, type SafetensorsInput,
} from './weights/safetensors.js';
export { parseTorchFile, isTorchFile } from './weights/torchFile.js';
export { parseStateDict } from './weights/stateDict.js';
export {
  loadRecordedTorchModel, recordedTorchModel, type RecordedTorchModel, type RecordedPreprocessing, type RecordedTorchModelOptions,
} from './weights/recordedModel.js';
export { PRETRAINED, DEFAULT_WEIGHTS_URL, pretrainedSpec, isPretrainedName, type PretrainedName, type PretrainedWeights, type PretrainedSpec, type EvalTransform } from './pretrained/weights.js';
export { IMAGENET_CLASSES } from './pretrained/imagenetClasses.js';

// ── Data: datasets, splits, augmentation, resizing ─────────────────────────────────────────────
export type { Dataset, Batch, BatchOptions } from './data/dataset.js';
export { tensorDataset, type TensorDataset, type TensorDatasetOptions } from './data/tensorDataset.js';
export { fromPixels, pixelDataset, type PixelSource, type PixelOptions } from './data/pixels.js';
export { stratifiedSplit, type Split } from './data/split.js';
export { subset } from './data/subset.js';
export { augmentBatch, type AugmentOptions } from './data/augment.js';
export { resizeCropGeometry, scaledResize } from './data/evalTransform.js';
export { resampleBilinear } from './data/resampleBilinear.js';

// ── Training parts: schedules, recipes, losses, metrics, BatchNorm, fine-tuning surgery ─────────
export { constantLr, oneCycleLr, cosineLr, type LrSchedule, type OneCycleOptions, type CosineOptions } from './training/schedules.js';
export { RECIPES, getRecipe, recipeSchedule, type Recipe, type RecipeName } from './training/recipes.js';
export { sparseSoftmaxCrossEntropy, countCorrect } from './training/losses.js';
export { classMetrics, type ClassMetrics } from './training/classMetrics.js';
export { recalibrateBatchNorm, type RecalibrateBatchNormOptions, type RecalibrateBatchNormResult } from './training/recalibrateBatchNorm.js';
export { datasetMetadata, readModelMetadata, type ModelMetadata } from './training/metadata.js';
export { seededRandom, deriveSeed, permutation } from './training/random.js';
export { rebuildWithHead, copyWeightsByName, freezeFeatures, splitAtHead, HEAD_LAYER, type RebuildOptions, type TransferReport, type HeadSplit } from './finetune/model.js';

// ── Inference and export parts: the folded-BatchNorm plan, embeddings, engines, quantization ───
export { inferencePlan, type InferencePlan } from './predict/inferencePlan.js';
export { embed } from './predict/embed.js';
export type { InferenceEngine, EngineOptions } from './engines/engine.js';
export type { OnnxLayout } from './export/onnxGraph.js';
export type { OnnxMetadata } from './export/onnxMetadata.js';
export { ONNX_OPSET } from './export/onnxProto.js';
// Quantized TF.js weights (float16 / uint8 manifests): arithmetic on save artifacts, e.g. into 'downloads://'.
export { quantizeArtifacts, quantizedHandler, UINT8_FLOAT16_WEIGHTS, type QuantizeDtype, type QuantizeOptions, type QuantizeReport } from './io/quantize.js';
export { encodeNpy } from './predict/npy.js';

// ── Backends and kernels ───────────────────────────────────────────────────────────────────────
export { tf } from './tf.js';
export { backendInfo, type BackendInfo } from './backend/backendInfo.js';
export { setWasmPaths } from './backend/wasmPaths.js';
// Threads of TF.js's wasm backend in a cross-origin isolated page; call before it starts.
export { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
export { registerKernels, restoreStockKernels } from './backend/registerKernels.js';
export { fusedAdam, FusedAdamOptimizer } from './backend/optimizers/fusedAdam.js';

// ── Errors and logging ─────────────────────────────────────────────────────────────────────────
export { InputError } from './errors.js';
export { type Logger, silentLogger } from './logger.js';
