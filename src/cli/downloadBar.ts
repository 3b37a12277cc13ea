import cliProgress from 'cli-progress';

/**
 * A download progress callback that draws a cli-progress bar on `stream` when it is a TTY, and
 * does nothing otherwise (the library logs where the file goes before it starts).
 */
export function downloadBar(stream: NodeJS.WriteStream): ((received: number, total: number | undefined) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return (received, total) => {
    if (!bar) {
      bar = new cliProgress.SingleBar({
        stream, format: 'download {bar} {percentage}% {done}/{size} MiB | ETA {eta_formatted}', barsize: 24, hideCursor: true, clearOnComplete: true,
      }, cliProgress.Presets.shades_classic);
      bar.start(total ?? 0, 0, { done: '0', size: total ? mb(total) : '?' });
    }
    bar.update(received, { done: mb(received) });
    if (total !== undefined && received >= total) bar.stop();
  };
}
