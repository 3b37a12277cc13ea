import type { tf } from '../tf.js';

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
  trainableParams: number;
  /** Multiply-adds of one forward pass of one image (convs and Dense only, as in the paper). */
  madds: number;
}

export interface ModelSummary {
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  madds: number;
}

const size = (shape: readonly (number | null)[]): number => shape.reduce<number>((a, d) => a * (d ?? 1), 1);

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
 * Per-layer and total parameters and multiply-adds, computed from the layers' configs and
 * output shapes. At 224×224 with α=1 this gives torchvision's 3,504,872 parameters and the
 * paper's ~300M multiply-adds.
 *
 * @example
 * const s = summarize(mobileNetV2());
 * console.log(s.trainableParams, (s.madds / 1e6).toFixed(0) + 'M');
 */
export function summarize(model: tf.LayersModel): ModelSummary {
  const layers = model.layers.map((layer): LayerSummary => {
    const count = (ws: tf.LayerVariable[]) => ws.reduce((a, w) => a + size(w.shape), 0);
    return {
      name: layer.name,
      className: layer.getClassName(),
      outputShape: layer.outputShape as (number | null)[],
      params: count(layer.weights),
      trainableParams: count(layer.trainableWeights),
      madds: layerMAdds(layer),
    };
  });
  const sum = (key: 'params' | 'trainableParams' | 'madds') => layers.reduce((a, l) => a + l[key], 0);
  const totalParams = sum('params');
  const trainableParams = sum('trainableParams');
  return { layers, totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams, madds: sum('madds') };
}

/** Renders a summary as a fixed-width table, one layer per line, totals last. */
export function formatSummary(summary: ModelSummary): string {
  const rows = summary.layers.map((l) => [
    l.name, l.className, JSON.stringify(l.outputShape).replace(/null/g, 'N'),
    l.params.toLocaleString('en-US'), l.madds ? l.madds.toLocaleString('en-US') : '',
  ]);
  const header = ['Layer', 'Type', 'Output shape', 'Params', 'MAdds'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [
    line(header),
    ...rows.map(line),
    `Total params: ${summary.totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${summary.trainableParams.toLocaleString('en-US')}`,
    `Non-trainable params: ${summary.nonTrainableParams.toLocaleString('en-US')}`,
    `Multiply-adds: ${(summary.madds / 1e6).toFixed(1)}M`,
  ].join('\n');
}
