import type { Dataset } from '../data/dataset.js';
import { fileSystem } from '../io/fileSystem.js';
import type { Logger } from '../logger.js';
import type { tf } from '../tf.js';
import { saveCheckpoint } from './checkpoint.js';
import { architectureOf } from '../models/architectureOf.js';
import { datasetMetadata } from './metadata.js';
import { MetricsLog } from './metricsLog.js';
import type { OptimizerName } from './optimizer.js';
import { writePlots } from './plots.js';
import type { EpochMetrics, TrainCallbacks } from './types.js';

/** What the training loop has done so far, read by {@link runOutputs} when an epoch ends. */
export interface RunState {
  epochs: number;
  globalStep: number;
  seed: number;
  batchSize: number;
  optimizerName: OptimizerName;
  history: EpochMetrics[];
  best: EpochMetrics | null;
}

/** Options of {@link runOutputs}. */
export interface RunOutputsOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  data: Dataset;
  state: RunState;
  /** Epochs done before this call (a resume appends to metrics.jsonl from there). */
  initialEpoch: number;
  metadata?: Record<string, unknown>;
  config?: Record<string, unknown>;
  plots: boolean;
  validationLabel?: string;
  logger: Logger;
  /** When aborted, the epoch's checkpoint is still written but the plots are not redrawn (they take seconds). */
  signal?: AbortSignal;
}

/**
 * The callbacks that write a run's directory, as Keras's ModelCheckpoint and CSVLogger do for
 * `fit`: every `onLog` appends a step line to metrics.jsonl; every epoch end stamps the model's
 * metadata, saves it as `out/model.json` when it is the best so far, writes `out/last/` with
 * the optimizer and trainer state, appends the epoch line and redraws the plots. Each write is
 * atomic. They run before the caller's callbacks, so an early stop still has its checkpoint.
 */
export async function runOutputs(out: string, options: RunOutputsOptions): Promise<TrainCallbacks> {
  const { model, optimizer, data, state } = options;
  const log = await MetricsLog.open(out, options.initialEpoch);
  // Saved models describe themselves (architectureOf reads it back).
  const architecture = architectureOf(model)?.config;
  return {
    onLog: (metrics) => log.append({ type: 'step', ...metrics }),
    async onEpochEnd(metrics) {
      model.setUserDefinedMetadata(datasetMetadata(data, {
        ...options.metadata, epoch: metrics.epoch, epochs: state.epochs,
        ...(metrics.valAccuracy !== undefined && { valAccuracy: metrics.valAccuracy, valLoss: metrics.valLoss }),
        trainAccuracy: metrics.trainAccuracy, trainLoss: metrics.trainLoss, seed: state.seed, ...(architecture && { architecture }),
      }));
      if (metrics.best) await model.save(fileSystem(out));
      await saveCheckpoint(out, model, optimizer, {
        epoch: metrics.epoch, epochs: state.epochs, globalStep: state.globalStep, seed: state.seed, batchSize: state.batchSize,
        history: state.history, best: state.best, optimizerName: state.optimizerName, ...(options.config && { config: options.config }),
      });
      await log.append({ type: 'epoch', ...metrics });
      if (options.plots && !options.signal?.aborted) {
        await writePlots(out, log.all, { validationLabel: options.validationLabel }).catch((error: Error) => {
          options.logger.warn(`could not draw plots in ${out}: ${error.message}`);
        });
      }
    },
  };
}
