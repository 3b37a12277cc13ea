import { beforeAll, describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { keyLayouts } from '../../test/fixtures/fixtures.js';
import { torchKeyMap } from './torchKeys.js';

const NBT = '.num_batches_tracked';

describe('torchKeyMap', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // Keys and shapes come from PyTorch (test/fixtures/key_layouts.json), including a table whose
  // later rows have t = 1, so the conv.{j} indices shift inside the network, and alpha = 1.4.
  it.each(keyLayouts.map((l) => [`${l.model} alpha=${l.alpha} table=${JSON.stringify(l.table)}`, l] as const))(
    'gives PyTorch state_dict keys, shapes and order for %s',
    (_, layout) => {
      const options = { alpha: layout.alpha, numClasses: layout.numClasses, ...(layout.table && { invertedResidualSetting: layout.table }) };
      const model = layout.model === 'mnist' ? mobileNetV2Mnist(options) : mobileNetV2({ ...options, inputShape: [32, 32, 3] });
      const map = torchKeyMap(model);
      expect(map.unmapped).toEqual([]);
      expect(map.params.map((p) => [p.key, p.torchShape])).toEqual(layout.stateDict.filter(([k]) => !k.endsWith(NBT)));
      expect(map.batchNorms).toEqual(layout.stateDict.filter(([k]) => k.endsWith(NBT)).map(([k]) => k.slice(0, -NBT.length)));
      model.dispose();
    },
  );

  it('maps a model without top and reports weights with no torchvision key', () => {
    const base = mobileNetV2Mnist({ includeTop: false, pooling: 'avg' });
    expect(torchKeyMap(base).params.some((p) => p.key.startsWith('classifier'))).toBe(false);
    const head = tf.layers.dense({ units: 3, name: 'my_head' }).apply(base.outputs[0]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: base.inputs, outputs: head });
    expect(torchKeyMap(model).unmapped).toEqual(['my_head/kernel', 'my_head/bias']);
    model.dispose();
  });
});
