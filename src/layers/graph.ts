import { tf } from '../tf.js';

type Node = tf.LayersModel['nodesByDepth'][string][number];

/** One layer call of a functional graph: tfjs-layers' `Node` (public in `Container`'s typings), or a step made by {@link collapsePrefix}. */
export type GraphNode = Pick<Node, 'outboundLayer' | 'inputTensors' | 'outputTensors' | 'callArgs'>;

/** A functional model (a Sequential's inner one included), walked through its public `nodesByDepth`. */
export type Graph = tf.LayersModel;

const isGraph = (layer: unknown): layer is Graph => layer instanceof tf.LayersModel && !(layer instanceof tf.Sequential);

/** The functional graph of `layer` (a functional model, or a Sequential's inner model), or null for a plain layer. */
export function graphOf(layer: tf.layers.Layer): Graph | null {
  // A Sequential keeps its layers in an inner functional model, in a private field: the one
  // TF.js internal this walker reads (listed in backend/internals.ts).
  if (layer instanceof tf.Sequential) {
    const inner = (layer as unknown as { model?: unknown }).model;
    return isGraph(inner) ? inner : null;
  }
  return isGraph(layer) ? layer : null;
}

/** Whether {@link walkGraph} can run `model`: functional and Sequential graphs without masking, nested ones included. */
function canWalk(model: tf.LayersModel): boolean {
  const graph = graphOf(model);
  if (graph === null) return false;
  return Object.values(graph.nodesByDepth).flat().every(({ outboundLayer: layer }) => {
    const masks = layer.getClassName() === 'Masking' || (layer as { maskZero?: boolean }).maskZero === true;
    return !masks && (graphOf(layer) === null || canWalk(layer as tf.LayersModel));
  });
}

/**
 * The graph of `model` when {@link walkGraph} can run it as a one-input, one-output model
 * (functional or Sequential, nested ones included, no masking), else null: then callers use
 * `model.apply` / `model.predict`. The one check of the training forward pass and the inference plan.
 */
export function walkable(model: tf.LayersModel): Graph | null {
  const graph = graphOf(model);
  if (graph === null || graph.inputs.length !== 1 || graph.outputs.length !== 1 || !canWalk(model)) return null;
  return graph;
}

/** The graph's layer calls in execution order (deepest first), input layers left out. */
export function orderedNodes(graph: Graph): GraphNode[] {
  return Object.keys(graph.nodesByDepth).map(Number).sort((a, b) => b - a)
    .flatMap((d) => graph.nodesByDepth[d]!)
    .filter((node) => node.inputTensors.length > 0);
}

/** How many times each symbolic tensor is read: by the nodes' inputs, and once more per graph output. */
export function readCounts(graph: Graph, nodes: readonly GraphNode[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of [...nodes.flatMap((n) => n.inputTensors), ...graph.outputs]) counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
  return counts;
}

/**
 * `nodes` with the part of the graph that computes `output` from the graph's one input through
 * `layers` alone replaced by a single node (`prefix`, from that input to `output`), or null when
 * a node outside `layers` reads anything inside that part but `output`. Lets a caller run a
 * known sub-network (a MobileNetV2 that a Sequential flattened into its own graph) its own way.
 */
export function collapsePrefix(
  graph: Graph, nodes: readonly GraphNode[], layers: ReadonlySet<tf.layers.Layer>, output: tf.SymbolicTensor,
): { nodes: GraphNode[]; prefix: GraphNode } | null {
  const inside = nodes.filter((n) => layers.has(n.outboundLayer));
  const rest = nodes.filter((n) => !layers.has(n.outboundLayer));
  const internal = new Set(inside.flatMap((n) => n.outputTensors.map((t) => t.id)));
  if (!internal.delete(output.id)) return null;
  if (rest.some((n) => n.inputTensors.some((t) => internal.has(t.id))) || graph.outputs.some((t) => internal.has(t.id))) return null;
  const prefix: GraphNode = { outboundLayer: output.sourceLayer as tf.layers.Layer, inputTensors: [graph.inputs[0]!], outputTensors: [output] };
  return { nodes: [prefix, ...rest], prefix };
}

/**
 * Runs `nodes` (in order; {@link orderedNodes} or a rewrite of them whose inputs come first) on
 * `inputs`, computing each node with `call`, and returns the graph's outputs. An intermediate is
 * disposed as soon as its last consumer has run; the inputs and outputs are kept.
 */
export function walkGraph(
  graph: Graph, nodes: readonly GraphNode[], inputs: readonly tf.Tensor[], call: (node: GraphNode, args: tf.Tensor[]) => tf.Tensor[],
): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  const pending = new Map<number, number>();
  for (const node of nodes) for (const t of node.inputTensors) pending.set(t.id, (pending.get(t.id) ?? 0) + 1);
  const kept = new Set<number>([...graph.inputs, ...graph.outputs].map((t) => t.id));
  graph.inputs.forEach((t, i) => values.set(t.id, inputs[i]!));

  for (const node of nodes) {
    const args = node.inputTensors.map((t) => {
      const value = values.get(t.id);
      if (value === undefined) throw new Error(`walkGraph: ${node.outboundLayer.name} runs before its input ${t.name}`);
      return value;
    });
    const outputs = call(node, args);
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]!));
    // Unlike tfjs-layers' executor, this frees intermediates in training too: the gradient tape
    // holds its own references to what each gradient needs, so an activation that no gradient
    // saved (BatchNorm's output before ReLU6, a padded copy's source, ...) is released as soon as
    // its last consumer has run instead of living until the end of the forward pass.
    for (const t of node.inputTensors) {
      const left = pending.get(t.id)! - 1;
      pending.set(t.id, left);
      if (left === 0 && !kept.has(t.id)) {
        const value = values.get(t.id)!;
        values.delete(t.id);
        // A layer may pass its input through unchanged (Dropout in inference returns it).
        if (![...values.values()].includes(value)) value.dispose();
      }
    }
  }
  return graph.outputs.map((t) => {
    const value = values.get(t.id);
    if (value === undefined) throw new Error(`walkGraph: output ${t.name} was not computed`);
    return value;
  });
}
