import { describe, expect, it } from 'vitest';
import { IMAGENET_CLASSES } from './imagenetClasses.js';
import { isPretrainedName, PRETRAINED, pretrainedSpec } from './weights.js';

describe('pretrained weights registry', () => {
  it("holds torchvision's facts: files, hash prefixes, transforms", () => {
    expect(pretrainedSpec('imagenet')).toBe(PRETRAINED.IMAGENET1K_V2);
    for (const spec of Object.values(PRETRAINED)) {
      // torch.hub's convention: the hex after the last '-' of the file name is the sha256 prefix.
      expect(spec.file).toBe(`mobilenet_v2-${spec.sha256Prefix}.pth`);
      expect(spec.transform).toMatchObject({ cropSize: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
      expect(spec.numParams).toBe(3504872);
    }
    expect([PRETRAINED.IMAGENET1K_V1.transform.resizeSize, PRETRAINED.IMAGENET1K_V2.transform.resizeSize]).toEqual([256, 232]);
    expect(['imagenet', 'IMAGENET1K_V1', 'IMAGENET1K_V2', 'x', undefined].map(isPretrainedName)).toEqual([true, true, true, false, false]);
  });

  it("ships the 1,000 ImageNet class names in torchvision's order", () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    expect(new Set(IMAGENET_CLASSES).size).toBe(1000);
    expect([IMAGENET_CLASSES[0], IMAGENET_CLASSES[1], IMAGENET_CLASSES[281], IMAGENET_CLASSES[999]]).toEqual(['tench', 'goldfish', 'tabby', 'toilet tissue']);
  });
});
