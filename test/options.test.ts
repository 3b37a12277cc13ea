import { beforeAll, describe, expect, it } from 'vitest';
import {
  classifierOf, classifyImages, cosineLr, describeMobileNetV2, embedImages, evaluate, evaluateImageFolder, exportOnnx, exportTfjs,
  fineTune, fineTuneImageFolder, fromPixels, imageFolder, loadClassifier, loadMnist, loadStartingPoint, loadTorchWeights,
  mobileNetV2, mobileNetV2Mnist, oneCycleLr, pixelDataset, predictBatches, preprocessImage, pretrainedFile, pretrainedMobileNetV2,
  progressReporter, quantizeArtifacts, recalibrateBatchNorm, tensorDataset, tf, train, trainMnist,
} from '../src/index.js';

// Every public function that takes an options object refuses a key it does not know, naming it
// with the closest allowed one, before doing any work (a typo is never silently ignored).
describe('options objects', () => {
  let model: tf.LayersModel;
  let data: ReturnType<typeof tensorDataset>;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 2, invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 1, 2]], lastChannels: 16 });
    model.setUserDefinedMetadata({ ...model.getUserDefinedMetadata(), classNames: ['a', 'b'], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], inputShape: [32, 32, 3] });
    data = tensorDataset(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, [0, 1], { classNames: ['a', 'b'] });
  });

  const calls: [string, () => unknown, string, string][] = [
    ['mobileNetV2', () => mobileNetV2({ numClass: 3 } as never), 'numClass', 'numClasses'],
    ['mobileNetV2', () => mobileNetV2Mnist({ aplha: 0.5 } as never), 'aplha', 'alpha'],
    ['mobileNetV2', () => describeMobileNetV2({ inputshape: [32, 32, 3] } as never), 'inputshape', 'inputShape'],
    ['train', () => train(model, data, { epoch: 1 } as never), 'epoch', 'epochs'],
    ['fineTune', () => fineTune(model, data, { freezeFeature: true } as never), 'freezeFeature', 'freezeFeatures'],
    ['fineTuneImageFolder', () => fineTuneImageFolder({ data: 'x', valsplit: 0.2 } as never), 'valsplit', 'valSplit'],
    ['loadStartingPoint', () => loadStartingPoint({ classNames: ['a'], weight: 'imagenet' } as never), 'weight', 'weights'],
    ['trainMnist', () => trainMnist({ batchsize: 8 } as never), 'batchsize', 'batchSize'],
    ['evaluate', () => evaluate(model, data, { batch: 8 } as never), 'batch', 'batchSize'],
    ['evaluateImageFolder', () => evaluateImageFolder('x', 'y', { topk: 3 } as never), 'topk', 'topK'],
    ['predictBatches', () => predictBatches(model, tf.zeros([1, 32, 32, 3]), { worker: 2 } as never), 'worker', 'workers'],
    ['loadClassifier', () => loadClassifier('x', { engin: 'tfjs' } as never), 'engin', 'engine'],
    ['classifyImages', () => classifyImages(classifierOf(model, 'm'), [], { topk: 1 } as never), 'topk', 'topK'],
    ['embedImages', () => embedImages(classifierOf(model, 'm'), [], { batchsize: 1 } as never), 'batchsize', 'batchSize'],
    ['recalibrateBatchNorm', () => recalibrateBatchNorm(model, data, { batchsize: 1 } as never), 'batchsize', 'batchSize'],
    ['imageFolder', () => imageFolder('x', { inputShape: [8, 8, 3], cach: 'memory' } as never), 'cach', 'cache'],
    ['loadMnist', () => loadMnist({ spilt: 'test' } as never), 'spilt', 'split'],
    ['tensorDataset', () => tensorDataset(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D, [0], { classNames: ['a'], meen: [0] } as never), 'meen', 'mean'],
    ['fromPixels', () => fromPixels({ data: new Uint8Array(4), width: 1, height: 1 }, { size: [1, 1], channel: 1 } as never), 'channel', 'channels'],
    ['pixelDataset', () => pixelDataset([{ data: new Uint8Array(4), width: 1, height: 1 }], [0], { size: [1, 1], classNames: ['a'], sdt: [1] } as never), 'sdt', 'std'],
    ['preprocessImage', () => preprocessImage('x.png', { resise: 256 } as never), 'resise', 'resize'],
    ['pretrainedMobileNetV2', () => pretrainedMobileNetV2({ inputsize: 96 } as never), 'inputsize', 'inputSize'],
    ['pretrainedFile', () => pretrainedFile('imagenet', { cachedir: '/tmp' } as never), 'cachedir', 'cacheDir'],
    ['progressReporter', () => progressReporter({ mod: 'lines' } as never), 'mod', 'mode'],
    ['oneCycleLr', () => oneCycleLr({ maxLr: 1e-3, pctstart: 0.2 } as never), 'pctstart', 'pctStart'],
    ['cosineLr', () => cosineLr({ peakLr: 1e-3, warmup: 10 } as never), 'warmup', 'warmupSteps'],
    ['loadTorchWeights', () => loadTorchWeights(model, new Uint8Array(8), { stric: false } as never), 'stric', 'strict'],
    ['exportOnnx', () => exportOnnx(model, { layot: 'nhwc' } as never), 'layot', 'layout'],
    ['exportTfjs', () => exportTfjs(model, '/tmp/x', { quantise: 'uint8' } as never), 'quantise', 'quantize'],
    ['quantize', () => quantizeArtifacts({}, { quantise: 'uint8' } as never), 'quantise', 'quantize'],
  ];

  it.each(calls)('%s refuses a misspelled option with the closest name', async (what, call, typo, meant) => {
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    expect((error as Error | undefined)?.message, what).toBe(`unknown ${what} option '${typo}'; did you mean '${meant}'?`);
    expect((error as Error).name).toBe('InputError');
  });
});
