import { describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { loadTorchWeights } from './loadTorchWeights.js';
import { torchStateDict } from './saveTorchWeights.js';
import { encodeSafetensors } from './safetensors.js';
import { parseStateDict } from './stateDict.js';

const f32 = (values: number[]) => ({ dtype: 'F32' as const, shape: [values.length], data: new Float32Array(values) });

describe('parseStateDict', () => {
  it("drops the 'module.' prefix that nn.DataParallel / DistributedDataParallel put on every key", () => {
    const bytes = encodeSafetensors({ 'module.features.0.1.weight': f32([1, 2]), 'module.classifier.1.bias': f32([3]) });
    expect([...parseStateDict(bytes, 'ddp.safetensors').tensors.keys()]).toEqual(['features.0.1.weight', 'classifier.1.bias']);
  });

  it("keeps keys as they are when only some start with 'module.'", () => {
    const bytes = encodeSafetensors({ 'module.a': f32([1]), b: f32([2]) });
    expect([...parseStateDict(bytes).tensors.keys()]).toEqual(['module.a', 'b']);
  });

  it('a state_dict saved from a DataParallel-wrapped model loads with strict: true and gives the same logits', async () => {
    tf.setBackend('cpu');
    const options = { alpha: 0.35, numClasses: 3, inputShape: [32, 32, 3] as [number, number, number], seed: 1 };
    const source = mobileNetV2(options);
    const target = mobileNetV2({ ...options, seed: 2 });
    const prefixed = Object.fromEntries(Object.entries(torchStateDict(source)).map(([k, v]) => [`module.${k}`, v]));
    await loadTorchWeights(target, encodeSafetensors(prefixed));
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(source.predict(x) as tf.Tensor, target.predict(x) as tf.Tensor))).dataSync()[0]);
    expect(diff).toBe(0);
    tf.dispose([x]);
    source.dispose();
    target.dispose();
  });
});
