import { cp, mkdir, mkdtemp, readdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeImageFolder } from '../../scripts/make-image-folder.js';
import { scanImageFolder } from '../data/imageFolder.js';
import { fineTuneImageFolder } from '../finetune/folder.js';
import { type Classifier, classifyImages, loadClassifier } from '../predict/classifier.js';
import { tf } from '../tf.js';
import { evaluateImageFolder } from './evaluateImageFolder.js';

describe('evaluateImageFolder', () => {
  let root: string;
  let modelDir: string;
  let test: string;
  let classifier: Classifier;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'evaluate-folder-'));
    const train = path.join(root, 'train');
    await makeImageFolder(train, { perClass: 8, size: 96, digits: '0147', seed: 1 });
    modelDir = path.join(root, 'model');
    // A fine-tuned 3-channel model at 96 px: grayscale PNGs and RGB JPEGs both become RGB.
    await fineTuneImageFolder({ data: train, alpha: 0.35, channels: 3, inputSize: [96, 96], epochs: 12, batchSize: 8, valSplit: 0.25, seed: 2, out: modelDir });
    // The test folder has 3 of the model's 4 classes ('7' has no folder).
    test = path.join(root, 'test');
    await makeImageFolder(test, { perClass: 5, size: 120, digits: '014', seed: 9 });
    classifier = await loadClassifier(modelDir);
  });

  it('matches top-1, top-k, loss, precision and recall computed from classifyImages', async () => {
    const before = tf.memory().numTensors;
    const report = await evaluateImageFolder(classifier, test, { topK: 2, out: path.join(root, 'report') });
    expect(tf.memory().numTensors).toBe(before);

    // The reference: every image classified on its own path (decoded and normalized by
    // classifyImages, probabilities over all 4 classes), labels from the folder names.
    const { files, labels, classNames: folderClasses } = await scanImageFolder(test);
    const predictions = await classifyImages(classifier, files, { topK: 4 });
    const names = classifier.classNames;
    const truth = labels.map((l) => folderClasses[l]!);
    const top = predictions.map((p) => p.top.map((s) => s.className));
    const n = files.length;
    expect(report.count).toBe(n);
    expect(report.correct).toBe(top.filter((t, i) => t[0] === truth[i]).length);
    expect(report.accuracy).toBeCloseTo(report.correct / n, 12);
    expect(report.topK).toBe(2);
    expect(report.topKCorrect).toBe(top.filter((t, i) => t.slice(0, 2).includes(truth[i]!)).length);
    const loss = predictions.reduce((sum, p, i) => sum - Math.log(p.top.find((s) => s.className === truth[i])!.probability), 0) / n;
    expect(report.loss).toBeCloseTo(loss, 4);
    for (const m of report.perClass) {
      const predictedAs = top.filter((t) => t[0] === m.className).length;
      const support = truth.filter((t) => t === m.className).length;
      const hits = top.filter((t, i) => t[0] === m.className && truth[i] === m.className).length;
      expect(m).toEqual({
        className: m.className, support, predicted: predictedAs, correct: hits,
        precision: predictedAs ? hits / predictedAs : null, recall: support ? hits / support : null,
      });
    }
    // The model's class order, with the missing class reported, not an error.
    expect(report.classNames).toEqual(names);
    expect(report.missingClasses).toEqual(['7']);
    expect(report.perClass.find((m) => m.className === '7')!.recall).toBeNull();
    // The confusion matrix covers the classes in the data or predicted, and sums to the images.
    expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(n);
    for (const name of ['0', '1', '4']) expect(report.confusionClasses).toContain(name);
    expect(await readdir(path.join(root, 'report'))).toEqual(expect.arrayContaining(['confusion.svg', 'confusion.png']));
    // So that this checked something: the model does not predict one class for everything.
    expect(new Set(top.map((t) => t[0])).size).toBeGreaterThan(1);
  });

  it('maps class folders by name, whatever their order on disk', async () => {
    // Only '1' and '4': folder indices 0 and 1, model indices 1 and 2.
    const partial = path.join(root, 'partial');
    await mkdir(partial);
    for (const name of ['1', '4']) await cp(path.join(test, name), path.join(partial, name), { recursive: true });
    const full = await evaluateImageFolder(classifier, test);
    const part = await evaluateImageFolder(classifier, partial);
    expect(part.missingClasses).toEqual(['0', '7']);
    for (const name of ['1', '4']) {
      const [a, b] = [full, part].map((r) => r.perClass.find((m) => m.className === name)!);
      expect(b.support).toBe(a.support);
      expect(b.correct).toBe(a.correct);
    }
  });

  it('refuses a class folder the model does not know, in one line, and loads a model directory itself', async () => {
    const odd = path.join(root, 'odd');
    await cp(test, odd, { recursive: true });
    await rename(path.join(odd, '4'), path.join(odd, 'four'));
    const before = tf.memory().numTensors;
    await expect(evaluateImageFolder(modelDir, odd)).rejects.toThrow(
      `${odd}: class folder 'four' is not a class of the model, whose 4 classes are '0', '1', '4', '7'; rename or remove it`,
    );
    await expect(evaluateImageFolder(modelDir, path.join(root, 'nowhere'))).rejects.toThrow('nowhere: does not exist');
    await expect(evaluateImageFolder(classifier, test, { topk: 3 } as object)).rejects.toThrow("unknown evaluateImageFolder option 'topk'");
    const report = await evaluateImageFolder(modelDir, test);
    expect(report.count).toBe(15);
    expect(tf.memory().numTensors).toBe(before);
  });
});
