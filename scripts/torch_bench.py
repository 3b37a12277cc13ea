#!/usr/bin/python3
"""PyTorch's speed on the seed MNIST MobileNetV2, the reference line of `npm run bench`.

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/torch_bench.py [--batch 64] [--steps 20] [--threads N]

The model is make_fixtures.py's `mnist_model` (torchvision's MobileNetV2 blocks with the seed's
table, stem, last conv and classifier; the same architecture the parity fixtures test), at its
default initialization. A training step is what bench.ts's `fit` line does per batch: forward in
train mode (BN batch statistics, dropout 0.2), cross-entropy on logits, backward, Adam(1e-3).
Inference is an eval-mode forward under no_grad. Random 1x28x28 inputs; both timed after warm-up.
Prints one JSON line: engine, torch version, threads, batch, trainImagesPerSec, inferImagesPerSec.
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import mnist_model  # noqa: E402

WARM_UP = 3


def images_per_sec(step, steps, batch):
    for _ in range(WARM_UP):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    # Default: OMP_NUM_THREADS if set (bench.ts sets it), else every core.
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = mnist_model(1.0)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    model.train()
    train = images_per_sec(train_step, args.steps, args.batch)

    model.eval()
    with torch.no_grad():
        infer = images_per_sec(lambda: model(x), args.steps, args.batch)

    print(json.dumps({
        "engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": args.batch,
        "trainImagesPerSec": round(train, 1), "inferImagesPerSec": round(infer, 1),
    }))


if __name__ == "__main__":
    main()
