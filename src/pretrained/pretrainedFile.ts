import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { checkOptions, keysOf } from '../options/check.js';
import { type Logger, silentLogger } from '../logger.js';
import { torchHubCheckpointsDir, weightsCacheDir } from './cacheDir.js';
import { downloadVerified } from './download.js';
import { DEFAULT_WEIGHTS_URL, type PretrainedName, type PretrainedSpec, pretrainedSpec } from './weights.js';

/** Options of {@link pretrainedFile}. Every field is optional. */
export interface PretrainedFileOptions {
  /** Where downloads are kept. Default {@link weightsCacheDir}: `$MOBILENETV2_TFJS_HOME`, `$XDG_CACHE_HOME/mobilenetv2-tfjs` or `~/.cache/mobilenetv2-tfjs`. */
  cacheDir?: string;
  /** Base URL of the files, for mirrors and air-gapped setups. Default `$MOBILENETV2_TFJS_WEIGHTS_URL`, else https://download.pytorch.org/models/. */
  baseUrl?: string;
  /** Also reuse a file in torch.hub's cache (`$TORCH_HOME/hub/checkpoints`, ...). Default true. */
  useTorchHub?: boolean;
  /** Download when the file is not cached. Default true; false makes a missing file an error that says where to put it. */
  download?: boolean;
  /** Download progress, e.g. a progress bar. Default none. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Where the file came from and warnings (a corrupt cached file). Default silent. */
  logger?: Logger;
  /** Environment variables to read. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The option names of {@link pretrainedFile}. */
export const PRETRAINED_FILE_OPTIONS = keysOf<PretrainedFileOptions>()({
  cacheDir: true, baseUrl: true, useTorchHub: true, download: true, onProgress: true, logger: true, env: true,
});

/** A verified local copy of pretrained weights. */
export interface PretrainedFile {
  path: string;
  spec: PretrainedSpec;
  /** 'torch-hub': PyTorch's cache; 'cache': ours; 'download': fetched just now. */
  origin: 'torch-hub' | 'cache' | 'download';
}

async function fileSha256(file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Finds or downloads torchvision's weight file for `name` ('imagenet' is IMAGENET1K_V2, or a
 * {@link PretrainedSpec} of your own: file name and sha256 prefix) and
 * returns its verified path. Looks in torch.hub's cache, then in ours, and downloads into ours
 * only when neither holds a file whose sha256 starts with the name's hash prefix. Nothing is
 * downloaded unless this is called.
 *
 * @throws InputError when offline (naming the URL and the exact path to place the file by
 *   hand), on an HTTP error, a dropped connection or a wrong hash (nothing is cached then).
 * @example
 * const { path } = await pretrainedFile('imagenet');
 */
export async function pretrainedFile(name: PretrainedName | PretrainedSpec, options: PretrainedFileOptions = {}): Promise<PretrainedFile> {
  checkOptions(options, PRETRAINED_FILE_OPTIONS, 'pretrainedFile');
  const spec = typeof name === 'object' && name !== null ? name : pretrainedSpec(name);
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const matches = async (file: string) => (await fileSha256(file))?.startsWith(spec.sha256Prefix) ?? false;
  const exists = (file: string) => fs.stat(file).then((s) => s.isFile(), () => false);

  if (options.useTorchHub ?? true) {
    const hub = path.join(torchHubCheckpointsDir(env), spec.file);
    if (await exists(hub)) {
      if (await matches(hub)) return { path: hub, spec, origin: 'torch-hub' };
      logger.warn(`${hub}: sha256 does not start with ${spec.sha256Prefix}; ignoring this copy`);
    }
  }
  const cached = path.join(options.cacheDir ?? weightsCacheDir(env), spec.file);
  if (await exists(cached)) {
    if (await matches(cached)) return { path: cached, spec, origin: 'cache' };
    logger.warn(`${cached}: sha256 does not start with ${spec.sha256Prefix}; downloading it again`);
  }
  let base = options.baseUrl ?? env.MOBILENETV2_TFJS_WEIGHTS_URL ?? DEFAULT_WEIGHTS_URL;
  if (!base.endsWith('/')) base += '/';
  const url = `${base}${spec.file}`;
  if (options.download === false) {
    throw new InputError(`${spec.name} weights are not cached and downloads are off; download ${url} and place it at ${cached}`);
  }
  logger.info(`downloading ${spec.name} weights: ${url} -> ${cached}`);
  await downloadVerified(url, cached, { sha256Prefix: spec.sha256Prefix, onProgress: options.onProgress });
  return { path: cached, spec, origin: 'download' };
}
