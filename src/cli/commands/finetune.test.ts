import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeImageFolder } from '../../../scripts/make-image-folder.js';
import { loadModel } from '../../io/fileSystem.js';
import { evaluateImageFolder } from '../../training/evaluateImageFolder.js';
import { tf } from '../../tf.js';
import { recordingIO as captureIO } from '../../../test/cliIO.js';
import { runCli } from '../run.js';


const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

describe('mobilenetv2 finetune / predict', () => {
  let data: string;
  let runs: string;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    runs = await mkdtemp(path.join(tmpdir(), 'finetune-cli-'));
    data = path.join(runs, 'digits');
    await makeImageFolder(data, { perClass: 6, size: 16, digits: '012', seed: 3 });
  });

  it('fine-tunes from scratch, then from its own checkpoint, and predicts with the result', async () => {
    const common = ['--data', data, '--epochs', '2', '--batch-size', '6', '--seed', '1', '--progress', 'none', '--backend', 'wasm', '--json'];
    const scratchOut = path.join(runs, 'scratch');
    const io = captureIO();
    const code = await runCli(['finetune', ...common, '--arch', 'mnist', '--alpha', '0.25', '--input-size', '16', '--val-split', '0.34', '--out', scratchOut, '--quantize', 'float16'], io);
    expect(code, io.err()).toBe(0);
    const summary = JSON.parse(lastLine(io.out()));
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['valAccuracy', 'valLoss', 'classes', 'epochs', 'out']));
    expect(summary.classes).toEqual(['0', '1', '2']);
    expect(summary.epochs).toBe(2);
    expect(summary.out).toBe(scratchOut);
    expect(summary.valImages).toBe(6);
    expect(summary.valAccuracy).toBeGreaterThanOrEqual(0);
    const files = await readdir(scratchOut);
    expect(files).toEqual(expect.arrayContaining(['model.json', 'metrics.jsonl', 'loss.svg', 'accuracy.png', 'confusion.svg', 'confusion.png', 'last']));
    const metadata = JSON.parse(await readFile(path.join(scratchOut, 'model.json'), 'utf8')).userDefinedMetadata;
    expect(metadata).toMatchObject({ classNames: ['0', '1', '2'], mean: [0.1307], std: [0.3081], inputShape: [16, 16, 1] });
    expect(summary.quantized).toEqual([{ dtype: 'float16', dir: path.join(scratchOut, 'quantized-float16'), weightBytes: expect.any(Number), float32WeightBytes: expect.any(Number) }]);
    const half = JSON.parse(await readFile(path.join(scratchOut, 'quantized-float16', 'model.json'), 'utf8'));
    expect(half.userDefinedMetadata).toEqual(metadata);
    expect(half.weightsManifest[0].weights.every((w: tf.io.WeightsManifestEntry) => w.quantization?.dtype === 'float16')).toBe(true);

    // Two stages from the checkpoint; the class names match, so the head is kept.
    const tunedOut = path.join(runs, 'tuned');
    const io2 = captureIO();
    expect(await runCli(['finetune', ...common, '--weights', scratchOut, '--unfreeze-after', '1', '--out', tunedOut], io2), io2.err()).toBe(0);
    const tuned = JSON.parse(lastLine(io2.out()));
    expect(tuned.stages.map((s: { trains: string }) => s.trains)).toEqual(['head', 'all']);
    expect(io2.err()).toContain(`starting point: ${scratchOut} (checkpoint): loaded`);
    const model = await loadModel(tunedOut);
    expect(model.inputs[0].shape).toEqual([null, 16, 16, 1]);
    model.dispose();

    const image = path.join(data, '1', '0000.png');
    const io3 = captureIO();
    expect(await runCli(['predict', '--model', tunedOut, '--top-k', '2', '--json', '--backend', 'wasm', image], io3), io3.err()).toBe(0);
    const [prediction] = JSON.parse(lastLine(io3.out()));
    expect(prediction.file).toBe(image);
    expect(prediction.top).toHaveLength(2);
    const sum = prediction.top.reduce((a: number, c: { probability: number }) => a + c.probability, 0);
    expect(sum).toBeLessThanOrEqual(1 + 1e-6);
    const io4 = captureIO();
    expect(await runCli(['predict', '--model', tunedOut, '--backend', 'wasm', image], io4)).toBe(0);
    expect(io4.out()).toMatch(new RegExp(`^${image}\\n  \\d  +\\d+\\.\\d\\d%`));

    // evaluate on the folder: the report of evaluateImageFolder, as text, JSON and a confusion plot.
    const io5 = captureIO();
    const evalOut = path.join(runs, 'evaluation');
    expect(await runCli(['evaluate', '--model', tunedOut, '--data', data, '--top-k', '2', '--out', evalOut, '--json', '--backend', 'wasm'], io5), io5.err()).toBe(0);
    const report = JSON.parse(lastLine(io5.out()));
    expect(report).toMatchObject({ topK: 2, count: 18, confusionClasses: ['0', '1', '2'], missingClasses: [], data, model: tunedOut });
    const api = await evaluateImageFolder(tunedOut, data, { topK: 2 });
    expect(report.accuracy).toBe(api.accuracy);
    expect(report.perClass).toEqual(api.perClass);
    expect(io5.out()).toMatch(new RegExp(`^${data}: 18 images\\naccuracy \\d+\\.\\d\\d% \\(\\d+/18\\), top-2 \\d+\\.\\d\\d%, loss \\d`));
    expect(io5.out()).toContain('confusion matrix (rows: true class, columns: predicted):');
    expect(await readdir(evalOut)).toEqual(expect.arrayContaining(['confusion.svg', 'confusion.png']));
    // Without --data it is MNIST's test set, which this 16-px model is not for.
    const io6 = captureIO();
    expect(await runCli(['evaluate', '--model', tunedOut, '--backend', 'wasm'], io6)).toBe(2);
    expect(io6.err()).toContain('not an MNIST model (inputShape [16, 16, 1], 3 classes); pass --data FOLDER');
  });

  it.each([
    [['finetune', '--epochs', '1'], '--data DIR is required'],
    [['finetune', '--data', '/no/such/dir'], '/no/such/dir: does not exist'],
    [['finetune', '--data', 'x', '--freeze-features', '--unfreeze-after', '1'], '--freeze-features and --unfreeze-after exclude each other'],
    [['finetune', '--data', 'x', '--val-split', '1'], '--val-split must be a number >= 0 and < 1; received "1"'],
    [['finetune', '--data', 'x', '--mean', '0.1,0.2'], '--mean must be 1 or 3 comma-separated numbers'],
    [['finetune', '--data', 'x', '--bogus'], 'unknown option --bogus'],
    [['finetune', '--data', 'x', '--epoch', '3'], 'unknown option --epoch; did you mean --epochs?'],
    [['export', '--model', 'x', '--fromat', 'onnx'], 'unknown option --fromat; did you mean --format?'],
    [['finetune', '--data', 'x', '--quantize', 'float8'], '--quantize must be one of float16, uint8; received "float8"'],
    [['finetune', '--data', 'x', '--recalibrate-bn', '--no-recalibrate-bn'], '--recalibrate-bn and --no-recalibrate-bn contradict each other'],
    [['evaluate', '--model', 'x', '--data', 'y', '--limit', '5'], '--limit is for the MNIST test set; it does not go with --data'],
    [['evaluate', '--model', '/no/such/model', '--data', 'y'], '/no/such/model/model.json: cannot read the model'],
    [['predict', '--model', '/no/such/model', 'a.png'], '/no/such/model/model.json: cannot read the model'],
    [['predict', '--model', 'x'], 'no images given'],
  ])('%j fails with one line and exit code 2', async (argv, message) => {
    const io = captureIO();
    expect(await runCli(argv, io)).toBe(2);
    const lines = io.err().trim().split('\n').filter((l) => !l.startsWith('backend:'));
    expect(lines).toEqual([expect.stringMatching(/^error: /)]);
    expect(lines[0]).toContain(message);
    expect(io.out()).toBe('');
  });

  it('has --help for both commands', async () => {
    for (const name of ['finetune', 'predict']) {
      const io = captureIO();
      expect(await runCli([name, '--help'], io)).toBe(0);
      expect(io.out()).toContain(`Usage: mobilenetv2 ${name}`);
    }
  });
});
