#!/usr/bin/python3
"""Generates test/fixtures/preprocess/: torchvision's eval transforms applied to synthetic
images, for checking preprocessImage's geometry, normalization and colour handling.

    /usr/bin/python3 scripts/make_preprocess_fixtures.py

- `landscape.png` (300x200) and `portrait.png` (181x263, odd sizes): smooth gradients plus a
  checkerboard, so a one-pixel shift in the resize or crop shows.
- `alpha_rgba.png` (240x170 RGBA) and `alpha_la.png` (170x240 grayscale + alpha): the same
  kind of picture under an alpha ramp from fully transparent to opaque, with colour stored under
  the transparent pixels. torchvision's loaders open images with PIL's `convert('RGB')`, which
  drops the alpha channel and keeps that stored colour; the fixtures are made the same way.
- `<image>_<resize>_<crop>.png`: the PIL image after `Resize(resize, BILINEAR)` and
  `CenterCrop(crop)` (what ToTensor then divides by 255), for torchvision's two MobileNetV2
  transforms (256/224: IMAGENET1K_V1, 232/224: IMAGENET1K_V2) and a 96 px one (99/96).
- `expected.json`: per case, the crop's size and the normalized tensor (ToTensor + Normalize with
  ImageNet's mean and std) at a few pixels, [y, x, c] -> value.
"""
import json
import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "preprocess")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CASES = [(256, 224), (232, 224), (99, 96)]


def synthetic(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 23.0)
    g = 40 + 180 * (x + y) / (w + h)
    b = np.where(((x // 16) + (y // 16)) % 2 == 0, 220, 30)
    return Image.fromarray(np.stack([r, g, b], -1).round().clip(0, 255).astype(np.uint8), "RGB")


def with_alpha(image, mode):
    w, h = image.size
    alpha = np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))
    base = image if mode == "RGBA" else image.convert("L")
    return Image.fromarray(np.dstack([np.asarray(base), alpha]), mode)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    images = [
        ("landscape", synthetic(300, 200)),
        ("portrait", synthetic(181, 263)),
        ("alpha_rgba", with_alpha(synthetic(240, 170), "RGBA")),
        ("alpha_la", with_alpha(synthetic(170, 240), "LA")),
    ]
    for name, original in images:
        original.save(os.path.join(OUT, f"{name}.png"))
        # As torchvision's datasets.folder.pil_loader opens a file.
        image = Image.open(os.path.join(OUT, f"{name}.png")).convert("RGB")
        for resize, crop in CASES:
            cropped = T.CenterCrop(crop)(T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR)(image))
            cropped.save(os.path.join(OUT, f"{name}_{resize}_{crop}.png"))
            tensor = T.Normalize(MEAN, STD)(T.ToTensor()(cropped))  # C, H, W
            resized = T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR)(image).size
            gen = torch.Generator().manual_seed(resize)
            points = [[int(torch.randint(0, crop, (1,), generator=gen)), int(torch.randint(0, crop, (1,), generator=gen)), c] for c in range(3) for _ in range(4)]
            expected[f"{name}_{resize}_{crop}"] = {
                "image": f"{name}.png", "resize": resize, "crop": crop, "resizedWH": list(resized),
                "samples": [[y, x, c, float(tensor[c, y, x])] for y, x, c in points],
            }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
