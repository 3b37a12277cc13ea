import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { torchStateDict } from '../weights/saveTorchWeights.js';
import { pretrainedMobileNetV2 } from './pretrainedMobileNetV2.js';

// A local `file` that is a MobileNetV2 state_dict but not the ImageNet one (another width and head):
// every shape differs from the α = 1, 1,000-class model.
describe('pretrainedMobileNetV2 with a file of other weights', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    tf.setBackend('cpu');
    dir = mkdtempSync(path.join(tmpdir(), 'pretrained-'));
    file = path.join(dir, 'narrow.safetensors');
    const narrow = mobileNetV2({ alpha: 0.35, numClasses: 7, inputShape: [32, 32, 3] });
    await writeSafetensors(file, torchStateDict(narrow));
    narrow.dispose();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([true, false])('is refused with one line naming the file and a mismatched key (includeTop %s)', async (includeTop) => {
    const before = tf.memory().numTensors;
    const error = await pretrainedMobileNetV2({ file, includeTop, inputSize: 32 }).then(() => null, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(InputError);
    expect(error!.message).toContain(file);
    expect(error!.message).toMatch(/features\.0\.0\.weight/);
    expect(error!.message).not.toContain('strict');
    expect(error!.message).not.toContain('\n');
    expect(tf.memory().numTensors).toBe(before);
  });
});
