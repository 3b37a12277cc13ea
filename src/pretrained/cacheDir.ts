import { homedir } from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where downloaded weights are kept: `$MOBILENETV2_TFJS_HOME`, else
 * `$XDG_CACHE_HOME/mobilenetv2-tfjs`, else `~/.cache/mobilenetv2-tfjs`.
 *
 * @example
 * weightsCacheDir(); // '/home/me/.cache/mobilenetv2-tfjs'
 */
export function weightsCacheDir(env: Env = process.env): string {
  if (env.MOBILENETV2_TFJS_HOME) return env.MOBILENETV2_TFJS_HOME;
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'mobilenetv2-tfjs');
}

/**
 * Where torch.hub keeps the same files (`torch.hub.get_dir()` + '/checkpoints'):
 * `$TORCH_HOME/hub/checkpoints`, else `$XDG_CACHE_HOME/torch/hub/checkpoints`, else
 * `~/.cache/torch/hub/checkpoints`. Read only: a file PyTorch already downloaded is reused.
 *
 * @example
 * torchHubCheckpointsDir(); // '/home/me/.cache/torch/hub/checkpoints'
 */
export function torchHubCheckpointsDir(env: Env = process.env): string {
  const torchHome = env.TORCH_HOME || path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'torch');
  return path.join(torchHome, 'hub', 'checkpoints');
}
