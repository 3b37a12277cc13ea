/**
 * torchvision's eval geometry, `Resize(resize)` then `CenterCrop([height, width])`, for an image
 * of `width` × `height` (after EXIF orientation): the shorter side becomes `resize` and the other
 * `floor(resize · long / short)`, as torchvision 0.14 computes it; the crop's offset is
 * `round((resized − crop) / 2)` with Python's round-half-to-even.
 *
 * @example
 * resizeCropGeometry(300, 200, 232, [224, 224]); // { width: 348, height: 232, left: 62, top: 4 }
 */
export function resizeCropGeometry(width: number, height: number, resize: number, crop: readonly [number, number]) {
  const [w, h] = width <= height ? [resize, Math.floor((resize * height) / width)] : [Math.floor((resize * width) / height), resize];
  const half = (n: number) => {
    const x = n / 2;
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  return { width: w, height: h, left: half(w - crop[1]), top: half(h - crop[0]) };
}

/**
 * The shorter-side resize for a model input of `[height, width]` under a transform made for
 * square `cropSize` crops (torchvision's 232 → 224): scaled by the same ratio, so a 96 px model
 * sees the same framing (99 → 96) as the 224 px one. For a non-square input the longer side is
 * scaled, so that the crop fits inside the resized image whichever way it is oriented.
 *
 * @example
 * scaledResize({ resizeSize: 232, cropSize: 224 }, [96, 96]); // 99
 * scaledResize({ resizeSize: 232, cropSize: 224 }, [67, 45]); // 69
 */
export function scaledResize(transform: { resizeSize: number; cropSize: number }, input: readonly [number, number]): number {
  return Math.round((Math.max(input[0], input[1]) * transform.resizeSize) / transform.cropSize);
}
