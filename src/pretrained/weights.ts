import { InputError, received } from '../errors.js';

/** torchvision's ImageNet-1K weights for MobileNetV2 (`MobileNet_V2_Weights`). */
export type PretrainedWeights = 'IMAGENET1K_V1' | 'IMAGENET1K_V2';

/** What `weights` accepts: a torchvision name, or 'imagenet' for torchvision's default (IMAGENET1K_V2). */
export type PretrainedName = PretrainedWeights | 'imagenet';

/**
 * An evaluation transform in torchvision's terms (`ImageClassification`): resize the shorter
 * side to `resizeSize` (bilinear, antialiased), center-crop `cropSize`, scale to [0, 1] RGB and
 * normalize with (x − mean) / std per channel.
 */
export interface EvalTransform {
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear';
  mean: readonly number[];
  std: readonly number[];
}

/** One entry of {@link PRETRAINED}: where the file is and what it was trained and evaluated with. */
export interface PretrainedSpec {
  name: PretrainedWeights;
  /** File name under the base URL; the hex after the last '-' is a prefix of its sha256. */
  file: string;
  sha256Prefix: string;
  /** ImageNet-1K validation accuracy (%) reported by torchvision. */
  top1: number;
  top5: number;
  numParams: number;
  transform: EvalTransform;
}

const IMAGENET_NORMALIZATION = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** torchvision's MobileNetV2 weights (facts from `torchvision.models.MobileNet_V2_Weights`). */
export const PRETRAINED: Readonly<Record<PretrainedWeights, PretrainedSpec>> = {
  IMAGENET1K_V1: {
    name: 'IMAGENET1K_V1', file: 'mobilenet_v2-b0353104.pth', sha256Prefix: 'b0353104', top1: 71.878, top5: 90.286, numParams: 3504872,
    transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear', ...IMAGENET_NORMALIZATION },
  },
  // Trained with torchvision's newer recipe; evaluated at a smaller resize.
  IMAGENET1K_V2: {
    name: 'IMAGENET1K_V2', file: 'mobilenet_v2-7ebf99e0.pth', sha256Prefix: '7ebf99e0', top1: 72.154, top5: 90.822, numParams: 3504872,
    transform: { resizeSize: 232, cropSize: 224, interpolation: 'bilinear', ...IMAGENET_NORMALIZATION },
  },
};

/** Default base URL of the weight files; `MOBILENETV2_TFJS_WEIGHTS_URL` or an option overrides it. */
export const DEFAULT_WEIGHTS_URL = 'https://download.pytorch.org/models/';

const NAMES: readonly PretrainedName[] = ['imagenet', 'IMAGENET1K_V1', 'IMAGENET1K_V2'];

/** Whether `value` names pretrained weights ('imagenet', 'IMAGENET1K_V1', 'IMAGENET1K_V2'). */
export const isPretrainedName = (value: unknown): value is PretrainedName => NAMES.includes(value as PretrainedName);

/**
 * The weights a name stands for; 'imagenet' is torchvision's default, IMAGENET1K_V2.
 *
 * @example
 * pretrainedSpec('imagenet').file; // 'mobilenet_v2-7ebf99e0.pth'
 */
export function pretrainedSpec(name: PretrainedName): PretrainedSpec {
  if (!isPretrainedName(name)) throw new InputError(`weights must be one of ${NAMES.map((n) => `'${n}'`).join(', ')}; received \`weights=${received(name)}\``);
  return PRETRAINED[name === 'imagenet' ? 'IMAGENET1K_V2' : name];
}
