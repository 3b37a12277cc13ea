import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { type Architecture, convUnits, describeMobileNetV2, runArchitecture } from './architecture.js';
import { architectureOf, architecturePrefix, architectureWithin, requireArchitecture } from './architectureOf.js';
import { mobileNetV2Mnist } from './mnist.js';
import { mobileNetV2 } from './mobilenetv2.js';
import type { MobileNetV2Options } from './options.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The saved form of a model (what model.save writes), and a copy of it loaded back. */
async function saved(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return artifacts!;
}
const load = (artifacts: tf.io.ModelArtifacts) => tf.loadLayersModel(tf.io.fromMemory(structuredClone(artifacts)));

type Topology = { config: { layers: { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[] }[]; output_layers: unknown[] } };
const topology = (a: tf.io.ModelArtifacts) => a.modelTopology as unknown as Topology;

/** What decides the computation: every unit's op, channels, kernel, stride, padding and layer names, the shortcuts and the head. */
const network = (arch: Architecture) => ({
  input: arch.inputShape,
  units: convUnits(arch).map((u) => [u.op, u.inChannels, u.outChannels, u.kernelSize, u.stride, u.layerPadding, u.activation, u.layers, u.torch]),
  shortcuts: arch.blocks.map((b) => b.shortcut),
  head: arch.head,
  batchNorm: [arch.config.batchNorm.epsilon, +(1 - arch.config.batchNorm.momentum).toFixed(6)],
});

const CASES: [string, () => tf.LayersModel][] = [
  ['α 1 at 96 px', () => mobileNetV2({ inputShape: [96, 96, 3], numClasses: 7 })],
  ['α 0.35, non-square, softmax head', () => mobileNetV2({ alpha: 0.35, inputShape: [64, 96, 3], numClasses: 3, classifierActivation: 'softmax', dropout: 0.5 })],
  ['α 1.4 without top, max pooling', () => mobileNetV2({ alpha: 1.4, inputShape: [64, 64, 3], includeTop: false, pooling: 'max' })],
  ['without top or pooling, Keras BatchNorm', () => mobileNetV2({ alpha: 0.5, inputShape: [32, 32, 3], includeTop: false, batchNorm: { epsilon: 1e-3, momentum: 0.01 } })],
  ['a custom table with t = 1 rows inside', () => mobileNetV2({
    inputShape: [40, 40, 4], numClasses: 2, firstChannels: 24, lastChannels: 96, roundNearest: 4,
    invertedResidualSetting: [[1, 16, 1, 1], [4, 24, 2, 2], [1, 24, 2, 1], [3, 40, 1, 2], [2, 40, 2, 1]],
  })],
  ['the seed MNIST model, α 0.5', () => mobileNetV2Mnist({ alpha: 0.5 })],
];

describe('architectureOf', () => {
  it.each(CASES)('finds %s in the built model, from the recorded config, and from the layers alone', async (_, build) => {
    const model = build();
    const arch = architectureOf(model)!;
    expect(arch).not.toBeNull();
    const artifacts = await saved(model);
    const loaded = await load(artifacts);
    expect(architectureOf(loaded)!.config).toEqual(arch.config);
    // Without the metadata (a model saved by hand, or by an older version) the layers tell it.
    delete artifacts.userDefinedMetadata;
    const bare = await load(artifacts);
    expect(network(architectureOf(bare)!)).toEqual(network(arch));
    tf.dispose([model, loaded, bare] as unknown as tf.Tensor[]);
  });

  it('names every layer of the built model, and only those', () => {
    for (const [, build] of CASES) {
      const model = build();
      const arch = architectureOf(model)!;
      const named = new Set([arch.input, ...convUnits(arch).flatMap((u) => Object.values(u.layers)), ...arch.blocks.flatMap((b) => (b.shortcut ? [b.shortcut.layer] : []))]);
      if (arch.head.kind !== 'none') for (const name of Object.values(arch.head.layers)) named.add(name);
      expect(new Set(model.layers.map((l) => l.name))).toEqual(named);
      model.dispose();
    }
  });

  it('refuses a model that only reuses the names: another stride, padding, wiring, activation or epsilon', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3], numClasses: 4 });
    const artifacts = await saved(model);
    delete artifacts.userDefinedMetadata;
    const edits: [string, (t: Topology) => void][] = [
      ['stride', (t) => { t.config.layers.find((l) => l.name === 'block_3_depthwise')!.config.strides = [1, 1]; }],
      // TF's 'same' at stride 2: 0 before, 1 after, which shifts every output against PyTorch's.
      ['padding', (t) => { t.config.layers.find((l) => l.name === 'Conv1_pad')!.config.padding = [[0, 1], [0, 1]]; }],
      // The shortcut of block 2 reads block 1's project BN instead of its input.
      ['wiring', (t) => { t.config.layers.find((l) => l.name === 'block_2_add')!.inbound_nodes = [[['block_2_project_BN', 0, 0, {}], ['block_2_project_BN', 0, 0, {}]]]; }],
      ['activation', (t) => { t.config.layers.find((l) => l.name === 'Conv1_relu')!.config.activation = 'relu'; }],
      ['epsilon', (t) => { t.config.layers.find((l) => l.name === 'block_7_expand_BN')!.config.epsilon = 1e-3; }],
    ];
    let checked = 0;
    for (const [what, edit] of edits) {
      const changed = structuredClone(artifacts);
      edit(topology(changed));
      const wrong = await tf.loadLayersModel(tf.io.fromMemory(changed)).catch(() => null);
      if (wrong === null) continue; // TF.js itself refused the edit
      expect(architectureOf(wrong), what).toBeNull();
      expect(() => requireArchitecture(wrong, 'exportOnnx'), what).toThrow(/^exportOnnx supports MobileNetV2 models built by this library .*; model '.*' is not one: /);
      wrong.dispose();
      checked++;
    }
    expect(checked).toBe(edits.length);
    model.dispose();
  });

  it('tells a head added by hand apart: not the architecture itself, but one that starts with it', () => {
    const base = mobileNetV2({ alpha: 0.5, inputShape: [48, 48, 3], includeTop: false, pooling: 'avg' });
    const head = tf.layers.dense({ units: 3, name: 'my_head' }).apply(base.outputs[0]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: base.inputs, outputs: head });
    expect(architectureOf(model)).toBeNull();
    expect(architectureWithin(model)!.head).toEqual({ kind: 'pool', pooling: 'avg', layers: { pool: 'global_average_pooling2d' } });
    const prefix = architecturePrefix(model)!;
    expect(prefix.output).toBe(base.outputs[0]);
    expect(prefix.layers.size).toBe(base.layers.length - 1);
    expect(requireArchitecture(base, 'x')).toBe(architectureOf(base));
    expect(() => requireArchitecture(model, 'exportOnnx')).toThrow("it has a layer the architecture does not ('my_head')");
    model.dispose();
  });

  it('gives null for models that are not MobileNetV2', () => {
    const seq = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    expect(architectureOf(seq)).toBeNull();
    const input = tf.input({ shape: [8, 8, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'Conv1' }).apply(input) as tf.SymbolicTensor;
    const other = tf.model({ inputs: input, outputs: conv });
    expect(architectureOf(other)).toBeNull();
    tf.dispose([seq, other] as unknown as tf.Tensor[]);
  });
});

describe('runArchitecture', () => {
  it('releases every intermediate once, after its last use, and never the input or the output', () => {
    const arch = describeMobileNetV2({ inputShape: [64, 64, 3], numClasses: 5 });
    let next = 1;
    const live = new Set<number>([0]);
    const released: number[] = [];
    const use = (x: number) => {
      expect(live.has(x)).toBe(true);
      return x;
    };
    const make = () => {
      live.add(next);
      return next++;
    };
    const out = runArchitecture(arch, 0, {
      unit: (_, x) => (use(x), make()),
      add: (_, a, b) => (use(a), use(b), make()),
      head: (_, x) => (use(x), make()),
      release: (x) => {
        expect(live.delete(x)).toBe(true);
        released.push(x);
      },
    });
    // Left alive: the input and the output.
    expect([...live].sort((a, b) => a - b)).toEqual([0, out]);
    expect(released.length).toBe(next - 2);
  });

  it('rejects bad options with the option named', () => {
    const bad: [MobileNetV2Options, string][] = [
      [{ alpha: 0 }, 'alpha must be a finite number > 0; received `alpha=0`'],
      [{ inputShape: [16, 16, 3] }, 'inputShape height and width must be >= 32'],
      [{ numClass: 3 } as MobileNetV2Options, "unknown mobileNetV2 option 'numClass'"],
    ];
    for (const [options, message] of bad) expect(() => describeMobileNetV2(options)).toThrow(message);
  });
});
