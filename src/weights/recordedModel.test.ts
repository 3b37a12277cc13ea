import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIO } from '../../test/cliIO.js';
import { runCli } from '../cli/run.js';
import { loadStartingPoint } from '../finetune/start.js';
import { fileSystem } from '../io/fileSystem.js';
import { architectureOf } from '../models/architectureOf.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { encodeSafetensors, parseSafetensors } from './safetensors.js';
import { loadRecordedTorchModel, recordedTorchModel } from './recordedModel.js';
import { saveTorchWeights, torchStateDict } from './saveTorchWeights.js';

// A model no torchvision table describes: a custom t/c/n/s table, α 0.5, a 48×40 input, 3
// classes, and preprocessing of its own. Its state_dict must come back as it left.
const TABLE = [[1, 16, 1, 1], [4, 24, 2, 2], [6, 40, 1, 2], [6, 64, 2, 2]] as const;
const META = { classNames: ['ant', 'bee', 'cow'], mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.25], inputShape: [48, 40, 3] };

let dir: string;
let model: tf.LayersModel;
let file: string;
let x: tf.Tensor4D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'recorded-'));
  model = mobileNetV2({ alpha: 0.5, inputShape: [48, 40, 3], numClasses: 3, invertedResidualSetting: TABLE.map((r) => [...r]), seed: 3 });
  model.setUserDefinedMetadata({ ...(model.getUserDefinedMetadata() as object), ...META });
  file = path.join(dir, 'custom.safetensors');
  await saveTorchWeights(model, file);
  x = tf.randomUniform([2, 48, 40, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
});
afterAll(async () => {
  model.dispose();
  x.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('recordedTorchModel', () => {
  it('reads the architecture and preprocessing saveTorchWeights records', async () => {
    const recorded = recordedTorchModel(parseSafetensors(await readFile(file), file), file)!;
    expect(recorded.config).toEqual(architectureOf(model)!.config);
    expect(recorded.preprocessing).toEqual(META);
  });

  it('is null for a state_dict without them, and names the key of malformed metadata', async () => {
    const tensors = torchStateDict(model);
    expect(recordedTorchModel(parseSafetensors(encodeSafetensors(tensors)), 'plain')).toBeNull();
    const broken = parseSafetensors(encodeSafetensors(tensors, { architecture: '{"alpha": -1}' }));
    expect(() => recordedTorchModel(broken, 'broken.safetensors')).toThrow(/^broken\.safetensors: its metadata 'architecture' is not a MobileNetV2 configuration \(.*alpha/);
    const badMean = parseSafetensors(encodeSafetensors(tensors, {
      architecture: JSON.stringify(architectureOf(model)!.config), preprocessing: JSON.stringify({ mean: [0.5] }),
    }));
    expect(() => recordedTorchModel(badMean, 'm.safetensors')).toThrow("m.safetensors: its metadata 'preprocessing.mean' must be 3 numbers, one per input channel");
  });
});

describe('a state_dict file of this library comes back as it left', () => {
  it('loadRecordedTorchModel rebuilds the network, its weights and its metadata, leaving nothing behind', async () => {
    const before = tf.memory().numTensors;
    const back = (await loadRecordedTorchModel(file))!;
    expect(architectureOf(back)!.config).toEqual(architectureOf(model)!.config);
    expect(back.getUserDefinedMetadata()).toMatchObject(META);
    const [a, b] = [model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor];
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBe(0);
    tf.dispose([a, b]);
    back.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fine-tuning from it keeps its input size, normalization and head when the classes are the same', async () => {
    const same = await loadStartingPoint({ weights: file, classNames: META.classNames });
    expect(same.inputShape).toEqual([48, 40, 3]);
    expect([same.mean, same.std]).toEqual([META.mean, META.std]);
    expect(same.transfer.replaced).toEqual([]);
    expect(same.transfer.missing).toEqual([]);
    expect(architectureOf(same.model)!.config.invertedResidualSetting).toEqual(TABLE.map((r) => [...r]));
    same.model.dispose();
    // Other labels, even as many: a fresh head.
    const other = await loadStartingPoint({ weights: file, classNames: ['x', 'y', 'z'] });
    expect(other.transfer.replaced).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    other.model.dispose();
  });

  it('mobilenetv2 predict and export --weights FILE use its classes and preprocessing', async () => {
    const modelDir = path.join(dir, 'model');
    await model.save(fileSystem(modelDir));
    const png = path.join(dir, 'a.png');
    const sharp = (await import('sharp')).default;
    await writeFile(png, await sharp({ create: { width: 50, height: 60, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer());
    const cli = async (argv: string[]) => {
      const io = recordingIO();
      const code = await runCli(argv, io);
      return { code, out: io.out(), err: io.err() };
    };
    const fromFile = await cli(['predict', '--weights', file, png, '--json', '--engine', 'tfjs', '--backend', 'cpu']);
    const fromDir = await cli(['predict', '--model', modelDir, png, '--json', '--engine', 'tfjs', '--backend', 'cpu']);
    expect(fromFile.code, fromFile.err).toBe(0);
    const top = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
    expect(top(fromFile.out)).toEqual(top(fromDir.out));
    const exported = await cli(['export', '--weights', file, '--format', 'onnx', '--out', path.join(dir, 'custom.onnx'), '--json', '--backend', 'cpu']);
    expect(exported.code, exported.err).toBe(0);
    expect(top(exported.out).input.shape).toEqual(['batch', 3, 48, 40]);
  });
});
