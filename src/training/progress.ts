import cliProgress from 'cli-progress';
import { type Logger, stderrLogger } from '../logger.js';
import { checkOneOf, checkOptions } from '../options/check.js';
import type { EpochMetrics, StepMetrics, TrainBeginInfo, TrainCallbacks } from './types.js';

/** Bytes as GB from 1 GB up, else MB, so that small models do not read as 0.00 GB. */
const memory = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${Math.max(1, Math.round(bytes / 2 ** 20))} MB`);

/** How {@link progressReporter} shows progress. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** Options of {@link progressReporter}. */
export interface ProgressOptions {
  /** 'bar': a cli-progress bar; 'lines': a log line every `logEvery` steps; 'auto': bar when `stream` is a TTY, else lines. Default 'auto'. */
  mode?: ProgressMode;
  /** Where the bar is drawn. Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Where lines go. Default {@link stderrLogger}. */
  logger?: Logger;
  /** Name of the validation data in messages. Default 'val'. */
  validationLabel?: string;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A one-line summary of an epoch, as the CLI prints it. */
export function formatEpoch(m: EpochMetrics, epochs: number, validationLabel = 'val'): string {
  const val = m.valAccuracy === undefined ? '' : ` | ${validationLabel} loss ${m.valLoss!.toFixed(4)} acc ${pct(m.valAccuracy)}`;
  return `epoch ${m.epoch}/${epochs}: train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}${val}`
    + ` | ${m.trainImagesPerSec.toFixed(1)} img/s, ${formatSeconds(m.trainSeconds)} train + ${formatSeconds(m.evalSeconds)} eval${m.best ? ' | best, saved' : ''}`;
}

/**
 * Training callbacks that show progress: a bar with loss, accuracy, img/s and ETA on a terminal,
 * or plain log lines otherwise (CI logs, pipes). Library callers who want silence simply do
 * not pass it.
 *
 * @example
 * await train(model, data, { callbacks: progressReporter({ mode: 'auto' }) });
 */
export function progressReporter(options: ProgressOptions = {}): TrainCallbacks {
  checkOptions(options, ['mode', 'stream', 'logger', 'validationLabel'], 'progressReporter');
  checkOneOf('mode', options.mode ?? 'auto', ['auto', 'bar', 'lines', 'none']);
  const stream = options.stream ?? process.stderr;
  const logger = options.logger ?? stderrLogger;
  const label = options.validationLabel ?? 'val';
  const requested = options.mode ?? 'auto';
  const mode = requested === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : requested;
  let info: TrainBeginInfo | undefined;
  let bar: cliProgress.SingleBar | undefined;

  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  if (mode === 'none') return {};
  return {
    onTrainBegin(begin) {
      info = begin;
      const resumed = begin.initialEpoch ? `, resuming after epoch ${begin.initialEpoch}` : '';
      logger.info(`training on ${begin.backend}, ${begin.trainExamples} examples (${begin.stepsPerEpoch} steps of ${begin.batchSize}), `
        + `${label} ${begin.validationExamples}, ${begin.epochs} epochs, seed ${begin.seed}${resumed}${begin.out ? `, out ${begin.out}` : ''}`);
      if (begin.workers > 1) {
        logger.info(`${begin.workers} workers (this thread and ${begin.workers - 1} worker threads): up to ${Math.ceil(begin.batchSize / begin.workers)} `
          + `images per step each, about ${memory(begin.replicaBytes)} of memory per replica`);
      }
    },
    onEpochBegin(epoch, begin) {
      if (mode !== 'bar') return;
      bar = new cliProgress.SingleBar({
        stream,
        format: `epoch ${epoch}/${begin.epochs} {bar} {percentage}% {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(begin.stepsPerEpoch, 0, { loss: '-', acc: '-', ips: '-' });
    },
    onBatchEnd(m: StepMetrics) {
      bar?.update(m.step, { loss: m.loss.toFixed(4), acc: pct(m.accuracy), ips: m.imagesPerSec.toFixed(1) });
    },
    onLog(m: StepMetrics) {
      if (mode !== 'lines') return;
      logger.info(`epoch ${m.epoch}/${info?.epochs ?? '?'} step ${m.step}/${m.stepsPerEpoch}: loss ${m.loss.toFixed(4)} acc ${pct(m.accuracy)}`
        + ` lr ${m.learningRate.toPrecision(3)} | ${m.imagesPerSec.toFixed(1)} img/s | ETA ${formatSeconds(m.etaSeconds)}`);
    },
    onEpochEnd(m) {
      stopBar();
      logger.info(formatEpoch(m, info?.epochs ?? m.epoch, label));
    },
    onTrainEnd() {
      stopBar();
    },
  };
}
