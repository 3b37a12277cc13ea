import { useBackend, type BackendName } from '../backend/useBackend.js';
import { type InferencePlan, inferencePlan } from '../predict/inferencePlan.js';
import { tf } from '../tf.js';
import { explainAbort } from '../training/memory.js';
import { createOptimizer, setLearningRate } from '../training/optimizer.js';
import { trainingStep } from '../training/step.js';
import { readGradients, writeGradients } from './gradients.js';
import type { FromReplica, InitMessage, ToReplica } from './protocol.js';

/** The end of a message channel a replica talks through (a worker's `parentPort`). */
export interface Port {
  on(event: 'message', listener: (message: ToReplica) => void): void;
  postMessage(message: FromReplica): void;
}

interface ReplicaState {
  model: tf.LayersModel;
  /** An inference-only replica's plan, built from the weights it received (they never change). */
  plan: InferencePlan | null;
  optimizer: tf.Optimizer | null;
  init: InitMessage;
  batchSize: number;
}

async function build(init: InitMessage): Promise<ReplicaState> {
  const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(init.topology) as tf.io.ModelJSON['modelTopology'] });
  const weights = model.weights.map((w, i) => tf.tensor(init.weights[i]!, w.shape as number[]));
  model.setWeights(weights);
  tf.dispose(weights);
  model.layers.forEach((layer, i) => {
    layer.trainable = init.trainable[i]!;
  });
  const optimizer = init.optimizer === null ? null : createOptimizer(init.optimizer);
  if (optimizer && init.optimizerState) {
    const state = init.optimizerState.map(({ name, values, shape }) => ({ name, tensor: tf.tensor(values, shape) }));
    await optimizer.setWeights(state);
    tf.dispose(state.map((s) => s.tensor));
  }
  return { model, plan: optimizer === null ? inferencePlan(model) : null, optimizer, init, batchSize: 0 };
}

/**
 * Serves one data-parallel replica on `port`: builds the model from the coordinator's topology
 * and weights, then for every `step` computes the gradient of its rows into its shared slot, and
 * for every `apply` steps its optimizer with the combined gradient, exactly as the coordinator
 * does, so that every replica's weights stay bit-identical to rank 0's. Errors go back as one
 * message; the coordinator decides what to do.
 */
export function serveReplica(port: Port): void {
  let replica: ReplicaState | null = null;
  let queue = Promise.resolve();
  let applyMs = 0;
  const now = () => performance.timeOrigin + performance.now();
  const fail = (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ type: 'error', name: e.name, message: e.message.split('\n')[0]! });
  };
  const handle = async (message: ToReplica): Promise<void> => {
    switch (message.type) {
      case 'init': {
        await useBackend(message.backend as BackendName);
        const baseTensors = tf.memory().numTensors;
        replica = await build(message);
        port.postMessage({ type: 'ready', baseTensors, fusedConvs: replica.plan?.fusedConvs ?? 0 });
        return;
      }
      case 'predict': {
        const { model, plan } = replica!;
        const logits = tf.tidy(() => {
          const x = tf.tensor(message.x, message.shape);
          return plan ? plan.predict(x) : model.predict(x, { batchSize: message.shape[0] }) as tf.Tensor;
        });
        const values = (await logits.data()) as Float32Array;
        port.postMessage({ type: 'predicted', id: message.id, logits: values, shape: logits.shape });
        logits.dispose();
        return;
      }
      case 'weights':
        port.postMessage({ type: 'weights', values: replica!.model.weights.map((w) => w.read().dataSync() as Float32Array) });
        return;
      case 'step': {
        const r = replica!;
        const rows = message.shape[0]!;
        const received = now();
        // The fault tests end a worker mid-epoch this way, as a crash would.
        if (Number(process.env.MOBILENETV2_TEST_EXIT_AT_STEP) === message.step && r.init.rank === 1) process.exit(3);
        if (rows === 0) {
          writeGradients(r.init.shared!, r.init.rank, null, message.step);
          const timing = { received, computed: received, written: now(), applyMs };
          port.postMessage({ type: 'stepped', step: message.step, rows, loss: 0, correct: 0, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, timing });
          return;
        }
        const x = tf.tensor(message.x, message.shape);
        const y = tf.tensor1d(message.y, 'int32');
        try {
          let result;
          try {
            result = trainingStep(r.model, x, y, { labelSmoothing: r.init.labelSmoothing, freezeBatchNormStats: r.init.freezeBatchNormStats });
          } catch (error) {
            throw explainAbort(error, r.model, rows);
          }
          try {
            const [loss, correct] = await Promise.all([result.loss.data(), result.correct.data()]);
            const computed = now();
            writeGradients(r.init.shared!, r.init.rank, r.model.trainableWeights.map((w) => result.grads[(w.read() as tf.Variable).name]!), message.step);
            const timing = { received, computed, written: now(), applyMs };
            port.postMessage({ type: 'stepped', step: message.step, rows, loss: loss[0]!, correct: correct[0]!, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, timing });
          } finally {
            result.dispose();
          }
        } finally {
          tf.dispose([x, y]);
        }
        return;
      }
      case 'apply': {
        const r = replica!;
        const started = performance.now();
        const grads = readGradients(r.init.shared!, r.model.trainableWeights);
        setLearningRate(r.optimizer!, message.learningRate);
        r.optimizer!.applyGradients(grads);
        tf.dispose(Object.values(grads));
        applyMs = performance.now() - started;
        return;
      }
      case 'close': {
        if (replica) {
          replica.optimizer?.dispose();
          replica.plan?.dispose();
          replica.model.dispose();
        }
        port.postMessage({ type: 'closed', numTensors: tf.memory().numTensors });
        return;
      }
    }
  };
  // Messages are handled one at a time, in order: a step's gradient is written before the
  // apply that reads the combined one.
  port.on('message', (message) => {
    queue = queue.then(() => handle(message)).catch(fail);
  });
}
