/** A black canvas the user draws white strokes on, with mouse, pen or touch. */
export function drawingPad(canvas: HTMLCanvasElement, onChange: () => void): { clear(): void } {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [((e.clientX - box.left) * canvas.width) / box.width, ((e.clientY - box.top) * canvas.height) / box.height];
  };
  const line = (to: [number, number]) => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 14;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...(last ?? to));
    ctx.lineTo(...to);
    ctx.stroke();
    last = to;
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = null;
    line(at(e));
    onChange();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last === null) return;
    line(at(e));
    onChange();
  });
  const end = () => {
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return {
    clear() {
      clear();
      onChange();
    },
  };
}

/**
 * The drawing as MNIST digits look (LeCun et al.): the ink's bounding box scaled to fit 20 × 20,
 * then placed in 28 × 28 with its centre of mass at the centre. Returns null for a blank pad.
 */
export function mnistStyle(source: HTMLCanvasElement, target: HTMLCanvasElement): HTMLCanvasElement | null {
  const { width, height } = source;
  const pixels = source.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, width, height).data;
  let [top, left, bottom, right] = [height, width, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[(y * width + x) * 4]! > 32) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const [w, h] = [right - left + 1, bottom - top + 1];
  const scale = 20 / Math.max(w, h);
  const scaled = document.createElement('canvas');
  scaled.width = scaled.height = 28;
  const s = scaled.getContext('2d', { willReadFrequently: true })!;
  s.imageSmoothingQuality = 'high';
  s.drawImage(source, left, top, w, h, 0, 0, w * scale, h * scale);
  const ink = s.getImageData(0, 0, 28, 28).data;
  let [mass, mx, my] = [0, 0, 0];
  for (let i = 0; i < 28 * 28; i++) {
    const v = ink[i * 4]!;
    mass += v;
    mx += v * (i % 28);
    my += v * Math.floor(i / 28);
  }
  const t = target.getContext('2d', { willReadFrequently: true })!;
  t.fillStyle = '#000';
  t.fillRect(0, 0, 28, 28);
  t.drawImage(scaled, Math.round(13.5 - mx / mass), Math.round(13.5 - my / mass));
  return target;
}
