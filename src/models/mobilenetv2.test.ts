import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { mobileNetV2 } from './mobilenetv2.js';
import { mobileNetV2Mnist } from './mnist.js';
import { summarize } from './summarize.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function layerNames(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

describe('mobileNetV2', () => {
  it('matches torchvision trainable parameter counts', () => {
    // sum(p.numel() for p in torchvision.models.mobilenet_v2(width_mult=a).parameters()), PyTorch 1.13.
    const torchvision: [number, number][] = [
      [0.35, 1_677_128],
      [0.5, 1_968_680],
      [0.75, 2_636_424],
      [1.0, 3_504_872],
      [1.4, 6_108_776],
    ];
    for (const [alpha, expected] of torchvision) {
      const model = mobileNetV2({ alpha });
      expect(summarize(model).trainableParams, `alpha=${alpha}`).toBe(expected);
      model.dispose();
    }
  });

  it('reports the paper figures at 224, alpha 1', () => {
    const model = mobileNetV2();
    const s = summarize(model);
    // Paper Table 3: 300M multiply-adds, 3.4M parameters.
    expect(s.madds / 1e6).toBeGreaterThan(295);
    expect(s.madds / 1e6).toBeLessThan(305);
    expect(s.nonTrainableParams).toBe(s.totalParams - 3_504_872);
    model.dispose();
  });

  it('puts the identity shortcut exactly where stride is 1 and width is kept', () => {
    const model = mobileNetV2();
    const adds = layerNames(model).filter((n) => n.endsWith('_add'));
    // 7-row table: blocks 0..16; the first block of each row has no shortcut, nor do the
    // rows whose width changes (t,c,n,s): row 5 (96, s=1) starts at block 10 with 64 → 96.
    expect(adds).toEqual([2, 4, 5, 7, 8, 9, 11, 12, 14, 15].map((i) => `block_${i}_add`));
    model.dispose();
  });

  it('uses Keras-style names and skips the expand conv when t = 1', () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 3 });
    const names = layerNames(model);
    expect(names.slice(0, 5)).toEqual(['input', 'Conv1_pad', 'Conv1', 'bn_Conv1', 'Conv1_relu']);
    expect(names).not.toContain('block_0_expand');
    expect(names).toContain('block_1_expand');
    expect(names).toContain('block_1_expand_BN');
    expect(names).toContain('block_1_pad');
    expect(names).toContain('block_16_project_BN');
    expect(names.slice(-6)).toEqual(['Conv_1', 'Conv_1_bn', 'out_relu', 'global_average_pooling2d', 'dropout', 'predictions']);
    model.dispose();
  });

  it.each([
    [{ alpha: 0.5, inputShape: [96, 96, 3], numClasses: 7 }, [2, 7]],
    [{ alpha: 0.75, inputShape: [67, 45, 3], numClasses: 5 }, [2, 5]],
    [{ alpha: 1.4, inputShape: [32, 33, 1], numClasses: 2 }, [2, 2]],
    [{ alpha: 0.35, inputShape: [64, 64, 3], includeTop: false }, [2, 2, 2, 1280]],
    [{ alpha: 0.35, inputShape: [64, 64, 3], includeTop: false, pooling: 'avg' }, [2, 1280]],
    [{ alpha: 2, inputShape: [40, 40, 3], includeTop: false, pooling: 'max' }, [2, 2560]],
  ] as const)('output shape for %j', (options, expected) => {
    const model = mobileNetV2(options);
    const [h, w, c] = options.inputShape;
    const y = model.predict(tf.zeros([2, h, w, c])) as tf.Tensor;
    expect(y.shape).toEqual(expected);
    tf.dispose(y);
    model.dispose();
  });

  it('outputs probabilities with classifierActivation softmax', () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 4, classifierActivation: 'softmax', seed: 1 });
    const y = model.predict(tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 1)) as tf.Tensor;
    const sums = y.sum(1);
    expect(Array.from(sums.dataSync()).every((s) => Math.abs(s - 1) < 1e-5)).toBe(true);
    tf.dispose([y, sums]);
    model.dispose();
  });

  it('is reproducible with a seed and initializes like the seed code', () => {
    const a = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 10, seed: 3 });
    const b = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 10, seed: 3 });
    const weight = (m: tf.LayersModel, layer: string) => m.getLayer(layer).getWeights()[0];
    expect(weight(a, 'block_3_expand').arraySync()).toEqual(weight(b, 'block_3_expand').arraySync());
    // kaiming-normal fan_out: std = sqrt(2 / (out · k · k)), for depthwise too (PyTorch's fan_out).
    const dw = weight(a, 'block_3_depthwise'); // [3, 3, C, 1]
    const channels = dw.shape[2]!;
    const std = tf.moments(dw).variance.sqrt().dataSync()[0];
    expect(std).toBeCloseTo(Math.sqrt(2 / (channels * 9)), 1);
    const head = weight(a, 'predictions');
    expect(tf.moments(head).variance.sqrt().dataSync()[0]).toBeCloseTo(0.01, 2);
    expect(Array.from(a.getLayer('predictions').getWeights()[1].dataSync()).every((v) => v === 0)).toBe(true);
    const [gamma, beta] = a.getLayer('bn_Conv1').getWeights();
    expect(Array.from(gamma.dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(beta.dataSync()).every((v) => v === 0)).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('uses PyTorch BatchNorm defaults', () => {
    const model = mobileNetV2Mnist({ alpha: 0.35 });
    const config = model.getLayer('bn_Conv1').getConfig();
    expect(config.epsilon).toBe(1e-5);
    expect(config.momentum).toBeCloseTo(0.9, 10);
    const custom = mobileNetV2Mnist({ alpha: 0.35, batchNorm: { epsilon: 1e-3, momentum: 0.01 } });
    expect(custom.getLayer('block_2_project_BN').getConfig().momentum).toBeCloseTo(0.99, 10);
    model.dispose();
    custom.dispose();
  });

  it('leaks no tensors across build, predict and dispose', () => {
    const before = tf.memory().numTensors;
    const model = mobileNetV2Mnist({ alpha: 0.5 });
    for (let i = 0; i < 3; i++) tf.tidy(() => void model.predict(tf.zeros([2, 28, 28, 1])));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('mobileNetV2Mnist', () => {
  it('builds the seed variant', () => {
    const model = mobileNetV2Mnist();
    expect(model.inputs[0].shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0].shape).toEqual([null, 10]);
    expect(model.getLayer('Conv_1').getConfig().filters).toBe(64);
    expect(model.getLayer('Conv1').getConfig().filters).toBe(32);
    expect(model.layers.filter((l) => l.name.endsWith('_project'))).toHaveLength(10);
    expect(layerNames(model).filter((n) => n.endsWith('_add'))).toEqual(
      ['block_2_add', 'block_4_add', 'block_5_add', 'block_7_add', 'block_8_add', 'block_9_add'],
    );
    model.dispose();
  });

  it('scales the last conv down with alpha, like the seed', () => {
    const model = mobileNetV2Mnist({ alpha: 0.5 });
    expect(model.getLayer('Conv_1').getConfig().filters).toBe(32);
    expect(model.getLayer('Conv1').getConfig().filters).toBe(16);
    model.dispose();
  });

  it('passes other options through', () => {
    const model = mobileNetV2Mnist({ numClasses: 3, dropout: 0 });
    expect(model.outputs[0].shape).toEqual([null, 3]);
    expect(model.getLayer('dropout').getConfig().rate).toBe(0);
    model.dispose();
  });
});

describe('option validation', () => {
  it.each([
    [{ alpha: 0 }, 'alpha must be a finite number > 0; received `alpha=0`'],
    [{ alpha: Number.NaN }, 'alpha must be a finite number > 0; received `alpha=NaN`'],
    [{ numClasses: 0 }, 'numClasses must be an integer >= 1; received `numClasses=0`'],
    [{ numClasses: 2.5 }, 'numClasses must be an integer >= 1; received `numClasses=2.5`'],
    [{ invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2]] }, 'invertedResidualSetting[1] must be 4 positive integers [t, c, n, s]; received `invertedResidualSetting[1]=[6,24,2]`'],
    [{ invertedResidualSetting: [[1, 16, 1, 3]] }, 'invertedResidualSetting[0] stride s must be 1 or 2; received `invertedResidualSetting[0]=[1,16,1,3]`'],
    [{ invertedResidualSetting: [] }, 'invertedResidualSetting must be a non-empty array of [t, c, n, s] rows; received `invertedResidualSetting=[]`'],
    [{ inputShape: [16, 224, 3] }, "inputShape height and width must be >= 32, the network's total stride; received `inputShape=[16,224,3]`"],
    [{ inputShape: [224, 224] }, 'inputShape must be [height, width, channels] of positive integers; received `inputShape=[224,224]`'],
    [{ dropout: 1 }, 'dropout must be a number in [0, 1); received `dropout=1`'],
    [{ pooling: 'sum' }, "pooling must be one of 'avg', 'max', 'none'; received `pooling=\"sum\"`"],
    [{ numClass: 10 }, /unknown mobileNetV2 option 'numClass'/],
    // Keras' spelling (weights='imagenet') points at the function that loads them.
    [{ weights: 'imagenet' }, /unknown mobileNetV2 option 'weights'.*pretrainedMobileNetV2\(\{ weights: 'imagenet' \}\)/],
    [{ batchNorm: { epsilon: 0 } }, 'batchNorm.epsilon must be a finite number > 0; received `batchNorm.epsilon=0`'],
  ])('%j', (options, message) => {
    expect(() => mobileNetV2(options as never)).toThrow(message);
  });

  it('checks the input size against the table strides', () => {
    expect(() => mobileNetV2Mnist({ inputShape: [15, 28, 1] })).toThrow('>= 16');
    const model = mobileNetV2Mnist({ inputShape: [16, 16, 1] });
    model.dispose();
  });
});
