/** Horizontal bars of the top-k classes. */
export function drawBars(host: HTMLElement, names: readonly string[], probabilities: ArrayLike<number>, k = 3): void {
  const order = Array.from(probabilities, (p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
  host.replaceChildren(...order.map(([p, i]) => {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.label = names[i];
    row.innerHTML = `<span></span><div class="track"><div class="fill"></div></div><span></span>`;
    (row.children[0] as HTMLElement).textContent = names[i]!;
    (row.children[1]!.firstElementChild as HTMLElement).style.width = `${(p * 100).toFixed(1)}%`;
    (row.children[2] as HTMLElement).textContent = `${(p * 100).toFixed(1)}%`;
    return row;
  }));
}

/** The loss of every step as a line, with the y axis from 0 to the largest loss. */
export function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const pad = 28;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#555';
  ctx.font = '11px system-ui';
  ctx.fillText('loss per step', pad, 12);
  if (losses.length === 0) return;
  const top = Math.max(...losses);
  ctx.fillText(top.toFixed(2), 0, pad - 8);
  ctx.fillText('0', 0, height - 6);
  ctx.strokeStyle = '#ddd';
  ctx.strokeRect(pad, pad - 10, width - pad - 4, height - pad);
  ctx.strokeStyle = '#d8503b';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((loss, i) => {
    const x = pad + ((width - pad - 4) * i) / Math.max(losses.length - 1, 1);
    const y = height - 10 - ((height - pad) * loss) / top;
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}
