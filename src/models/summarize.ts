import type { tf } from '../tf.js';
import { type Architecture, type ConvUnit, convUnits } from './architecture.js';
import { architectureOf } from './architectureOf.js';

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
  trainableParams: number;
  /** Multiply-adds of one forward pass of one image (convs and Dense only, as in the paper). */
  madds: number;
}

/** One unit of a MobileNetV2 of this library, as the paper's Table 2 lists them. */
export interface UnitSummary {
  /** 'stem', 'block 0', ..., 'last', 'classifier'. */
  unit: string;
  /** torchvision module path: `features.0`, `features.1`, ..., `classifier.1`. */
  torch: string;
  /** [height, width, channels] in. */
  input: [number, number, number];
  /** Expansion t (blocks only). */
  expansion?: number;
  outChannels: number;
  stride: number;
  shortcut: boolean;
  madds: number;
}

export interface ModelSummary {
  layers: LayerSummary[];
  /** Unit by unit, for a MobileNetV2 of this library (see `architectureOf`); absent for other models. */
  units?: UnitSummary[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  madds: number;
}

const size = (shape: readonly (number | null)[]): number => shape.reduce<number>((a, d) => a * (d ?? 1), 1);

/** Multiply-adds of one conv unit for one image. */
const unitMAdds = (u: ConvUnit) => u.outputSize[0] * u.outputSize[1] * u.outChannels * u.kernelSize ** 2 * (u.op === 'depthwise' ? 1 : u.inChannels);

/** Multiply-adds by layer name, from the description. */
function describedMAdds(arch: Architecture): Map<string, number> {
  const madds = new Map<string, number>(convUnits(arch).map((u) => [u.layers.conv, unitMAdds(u)]));
  if (arch.head.kind === 'classifier') madds.set(arch.head.layers.classifier, arch.head.inFeatures * arch.head.numClasses);
  return madds;
}

function unitSummaries(arch: Architecture): UnitSummary[] {
  const input = (u: ConvUnit): [number, number, number] => [...u.inputSize, u.inChannels];
  const rows: UnitSummary[] = [
    { unit: 'stem', torch: 'features.0', input: input(arch.stem), outChannels: arch.stem.outChannels, stride: arch.stem.stride, shortcut: false, madds: unitMAdds(arch.stem) },
    ...arch.blocks.map((b) => {
      const units = [b.expand, b.depthwise, b.project].filter((u): u is ConvUnit => u !== null);
      return {
        unit: `block ${b.index}`, torch: b.torch, input: input(units[0]!), expansion: b.expandRatio, outChannels: b.outChannels, stride: b.stride,
        shortcut: b.shortcut !== null, madds: units.reduce((n, u) => n + unitMAdds(u), 0),
      };
    }),
    { unit: 'last', torch: arch.last.torch.conv.slice(0, -2), input: input(arch.last), outChannels: arch.last.outChannels, stride: 1, shortcut: false, madds: unitMAdds(arch.last) },
  ];
  const head = arch.head;
  if (head.kind === 'classifier') {
    rows.push({ unit: 'classifier', torch: head.torch, input: [1, 1, head.inFeatures], outChannels: head.numClasses, stride: 1, shortcut: false, madds: head.inFeatures * head.numClasses });
  }
  return rows;
}

function layerMAdds(layer: tf.layers.Layer): number {
  const out = layer.outputShape as (number | null)[];
  const config = layer.getConfig();
  const inChannels = () => {
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    return inShape[inShape.length - 1] ?? 0;
  };
  switch (layer.getClassName()) {
    case 'Conv2D': {
      const [kh, kw] = config.kernelSize as number[];
      return size(out.slice(1)) * kh * kw * inChannels();
    }
    case 'DepthwiseConv2D': {
      const [kh, kw] = config.kernelSize as number[];
      return size(out.slice(1)) * kh * kw;
    }
    case 'Dense':
      return size(out.slice(1)) * inChannels();
    default:
      return 0;
  }
}

/**
 * Per-layer and total parameters and multiply-adds. For a MobileNetV2 of this library the
 * multiply-adds come from its architecture description, which also gives the unit-by-unit
 * table (`units`: input, expansion, channels, stride, shortcut, torchvision module); other models
 * are measured from their layers' configs and output shapes. At 224×224 with α=1 this gives
 * torchvision's 3,504,872 parameters and the paper's ~300M multiply-adds.
 *
 * @example
 * const s = summarize(mobileNetV2());
 * console.log(s.trainableParams, (s.madds / 1e6).toFixed(0) + 'M');
 */
export function summarize(model: tf.LayersModel): ModelSummary {
  const arch = architectureOf(model);
  const described = arch && describedMAdds(arch);
  const layers = model.layers.map((layer): LayerSummary => {
    const count = (ws: tf.LayerVariable[]) => ws.reduce((a, w) => a + size(w.shape), 0);
    return {
      name: layer.name,
      className: layer.getClassName(),
      outputShape: layer.outputShape as (number | null)[],
      params: count(layer.weights),
      trainableParams: count(layer.trainableWeights),
      madds: described ? described.get(layer.name) ?? 0 : layerMAdds(layer),
    };
  });
  const sum = (key: 'params' | 'trainableParams' | 'madds') => layers.reduce((a, l) => a + l[key], 0);
  const totalParams = sum('params');
  const trainableParams = sum('trainableParams');
  return {
    layers, ...(arch && { units: unitSummaries(arch) }),
    totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams, madds: sum('madds'),
  };
}

/** A fixed-width table: the first `left` columns left-aligned, the rest right-aligned. */
function table(header: string[], rows: string[][], left: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i >= left ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Renders a summary as fixed-width tables: one layer per line, then (for a MobileNetV2 of this
 * library) one unit per line as the paper's Table 2, totals last.
 *
 * @example
 * console.log(formatSummary(summarize(mobileNetV2({ inputShape: [96, 96, 3] }))));
 */
export function formatSummary(summary: ModelSummary): string {
  const layers = table(['Layer', 'Type', 'Output shape', 'Params', 'MAdds'], summary.layers.map((l) => [
    l.name, l.className, JSON.stringify(l.outputShape).replace(/null/g, 'N'), count(l.params), l.madds ? count(l.madds) : '',
  ]), 3);
  const units = summary.units
    ? ['', ...table(['Unit', 'torchvision', 'Input', 't', 'c', 's', 'Shortcut', 'MAdds'], summary.units.map((u) => [
        u.unit, u.torch, u.input.join('×'), u.expansion === undefined ? '' : String(u.expansion), String(u.outChannels), String(u.stride),
        u.shortcut ? 'yes' : '', count(u.madds),
      ]), 3)]
    : [];
  return [
    ...layers,
    ...units,
    `Total params: ${count(summary.totalParams)}`,
    `Trainable params: ${count(summary.trainableParams)}`,
    `Non-trainable params: ${count(summary.nonTrainableParams)}`,
    `Multiply-adds: ${(summary.madds / 1e6).toFixed(1)}M`,
  ].join('\n');
}
