import { ENGINES, type EngineOptions } from '../engines/engine.js';
import type { Logger } from '../logger.js';
import { choiceFlag, type FlagSpecs, type FlagValues, intFlag } from './args.js';

/** --engine and --threads, for the commands that run inference. */
export const ENGINE_FLAGS: FlagSpecs = {
  engine: {
    type: 'string', value: ENGINES.join('|'),
    help: 'what runs the forward passes: TF.js, onnxruntime-node (optional dependency), or auto: onnxruntime when installed and the model is a MobileNetV2 of this library (default auto)',
  },
  threads: { type: 'string', value: 'N', help: "onnxruntime's threads (default: every core)" },
};

/** The engine options of `flags`; `logger` gets the line saying which engine ran. */
export function engineFlags(flags: FlagValues, logger: Logger): EngineOptions {
  const threads = intFlag(flags, 'threads', 1);
  return { engine: choiceFlag(flags, 'engine', ENGINES) ?? 'auto', ...(threads !== undefined && { threads }), logger };
}
