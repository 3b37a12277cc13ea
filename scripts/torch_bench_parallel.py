"""PyTorch's side of `npm run bench -- --workers N` (bench/parallel.ts): one configuration per call, one JSON line out.

    python3 scripts/torch_bench_parallel.py --model imagenet --alpha 1 --size 224 --batch 16 --mode train --threads 2

Models: 'imagenet' is torchvision's mobilenet_v2 with 10 classes; 'mnist' is make_fixtures.py's
`mnist_model` (the seed's table, 1-channel stem and 64 last channels, as `mobileNetV2Mnist` builds it). Training is Adam (lr 1e-3) on random data with
cross-entropy; inference runs in eval mode under no_grad. Peak RSS is the process's.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import build as build_model  # noqa: E402


def build(kind: str, alpha: float) -> nn.Module:
    return build_model('mnist' if kind == 'mnist' else 'torchvision', alpha, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', choices=['imagenet', 'mnist'], default='imagenet')
    parser.add_argument('--alpha', type=float, default=1.0)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--mode', choices=['train', 'infer'], default='train')
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--images', type=int, default=0, help='inference: images in all (default steps × batch)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    channels = 1 if args.model == 'mnist' else 3
    model = build(args.model, args.alpha)
    x = torch.randn(args.batch, channels, args.size, args.size)
    y = torch.arange(args.batch) % 10
    if args.mode == 'train':
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()

        def step() -> None:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        images = args.steps * args.batch
    else:
        model.eval()
        total = args.images or args.steps * args.batch
        batches = [(i, min(args.batch, total - i)) for i in range(0, total, args.batch)]

        def step() -> None:
            with torch.no_grad():
                for _, n in batches:
                    model(x[:n])
        images = total
    for _ in range(args.warmup):
        step()
    started = time.perf_counter()
    for _ in range(args.steps if args.mode == 'train' else 1):
        step()
    seconds = time.perf_counter() - started
    print(json.dumps({
        'impl': 'pytorch', 'model': args.model, 'alpha': args.alpha, 'size': args.size, 'batch': args.batch, 'mode': args.mode,
        'threads': args.threads, 'imgPerSec': round(images / seconds, 2),
        'peakRssMB': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
