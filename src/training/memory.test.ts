import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, Dataset } from '../data/dataset.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { estimateStepBytes, explainAbort, OutOfMemoryError, WASM_HEAP_LIMIT } from './memory.js';
import { train } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function randomImages(length: number, size: number): Dataset {
  return {
    length, classNames: ['a', 'b'], inputShape: [size, size, 3], mean: [0, 0, 0], std: [1, 1, 1],
    labels: () => new Int32Array(length),
    batch: async (indices): Promise<Batch> => ({
      x: tf.zeros([indices.length, size, size, 3]) as tf.Tensor4D,
      y: tf.zeros([indices.length], 'int32') as tf.Tensor1D,
    }),
  };
}

describe('training memory on wasm', () => {
  it('refuses a batch that cannot fit in one wasm heap with one line, before any step', async () => {
    const model = mobileNetV2({ numClasses: 2, seed: 0 });
    const before = tf.memory().numTensors;
    const error = await train(model, randomImages(96, 224), { batchSize: 96, epochs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutOfMemoryError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^a training step of batch 96 at 224×224×3 needs about \d+\.\d GB of wasm memory per heap, more than the 4 GB/);
    expect(message).toMatch(/use --batch-size \d+ or less, or --workers \d+ to split each batch across heaps$/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('estimates per-image memory from the layer outputs and lets the finetune default fit', () => {
    const model = mobileNetV2({ numClasses: 10, seed: 0 });
    const perImage = estimateStepBytes(model, 2) - estimateStepBytes(model, 1);
    // Measured by `npm run profile:memory`: 63 MB live and 91 MB of heap per image at 224 px.
    expect(perImage / 2 ** 20).toBeGreaterThan(63);
    expect(estimateStepBytes(model, 32)).toBeLessThan(WASM_HEAP_LIMIT * 0.95);
    expect(estimateStepBytes(model, 48)).toBeGreaterThan(WASM_HEAP_LIMIT * 0.95);
    model.dispose();
  });

  it("turns the wasm module's abort into the same one-line error", () => {
    const model = mobileNetV2({ numClasses: 10, seed: 0 });
    const explained = explainAbort(new Error('Aborted(). Build with -sASSERTIONS for more info.'), model, 40, 1);
    expect(explained).toBeInstanceOf(OutOfMemoryError);
    expect((explained as Error).message).toMatch(/^the wasm heap ran out of memory: a training step of batch 40 at 224×224×3/);
    const other = new Error('something else');
    expect(explainAbort(other, model, 40, 1)).toBe(other);
    model.dispose();
  });
});
