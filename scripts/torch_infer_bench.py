#!/usr/bin/python3
"""PyTorch's side of the inference benchmark (bench/inference.ts): one case per call, one JSON line.

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/torch_infer_bench.py --case mnist|b32|b1 [--threads 2]

`mnist`: the seed MNIST model (make_fixtures.py's `mnist_model`) over the 10k MNIST test images at
batch 256, loss and accuracy as `evaluate` computes them; `b32`: torchvision's mobilenet_v2
(α 1, 224 px, 1,000 classes) over 256 random images at batch 32; `b1`: that model's latency on
one image, the median of 20 calls. Eval mode under no_grad, after warm-up. Peak RSS is the process's.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torchvision.models import mobilenet_v2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import mnist_model  # noqa: E402
from torch_bench import MNIST_DIR, mnist  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--case", choices=["mnist", "b32", "b1"], default="b32")
parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

if args.case == "mnist":
    model = mnist_model(1.0).eval()
    x, y = mnist(MNIST_DIR, "t10k")
    batch = 256

    def run():
        loss, correct = 0.0, 0
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss += float(F.cross_entropy(logits, y[i:i + batch], reduction="sum"))
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
        return loss / len(x), correct
    count = len(x)
else:
    model = mobilenet_v2().eval()
    batch = 32 if args.case == "b32" else 1
    count = 256 if args.case == "b32" else 1
    x = torch.randn(count, 3, 224, 224)

    def run():
        for i in range(0, count, batch):
            model(x[i:i + batch])

with torch.no_grad():
    run()
    if args.case == "b1":
        for _ in range(2):
            run()
        times = []
        for _ in range(20):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1000)
        result = {"msPerImage": round(sorted(times)[len(times) // 2], 2)}
    else:
        start = time.perf_counter()
        run()
        result = {"imgPerSec": round(count / (time.perf_counter() - start), 1)}

print(json.dumps({
    "impl": "pytorch", "torch": torch.__version__, "case": args.case, "batch": batch, "images": count, "threads": torch.get_num_threads(),
    **result, "peakRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
