#!/usr/bin/python3
"""Generates the PyTorch parity fixtures in test/fixtures/ and checks files that the library saved.

Run with Debian's PyTorch (apt-get install python3-torch python3-torchvision):

    /usr/bin/python3 scripts/make_fixtures.py                    # writes test/fixtures/*
    /usr/bin/python3 scripts/make_fixtures.py --check-saved DIR  # checks DIR/*.safetensors written by saveTorchWeights

Each fixture is a model with random weights, randomized BN affine parameters and randomized BN
running statistics, stored as a torchvision-style state_dict in safetensors (`<name>.safetensors`),
plus `<name>.io.safetensors` holding `input` and `logits`:

- `input` is NHWC [N, H, W, C] (TF.js's layout): PyTorch's NCHW input transposed by (0, 2, 3, 1).
- `logits` is [N, classes]: the model's eval-mode output, computed in float64 from the weights
  exactly as stored (F16/BF16 weights are rounded first, so the low-precision read path is tested
  without loosening the tolerance).
- `train_logits` and `after_train.<bn key>.running_mean|running_var`: one training-mode forward
  of `input` with dropout off, and the BN running statistics it leaves (momentum 0.1).

`manifest.json` lists the fixtures with the options to build the matching model;
`param_counts.json` holds trainable parameter counts from PyTorch; `key_layouts.json` holds the
state_dict keys and shapes (no weights) of a few more architectures.

The seed's MNIST model (one 28x28 channel, the first four rows of the paper's table, a last conv of
make_divisible(64 * alpha) channels, 10 classes) is torchvision's MobileNetV2 with that table and
its stem, last conv and classifier swapped for the seed's; the blocks and their key names are
torchvision's own.
"""
import argparse
import copy
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn
from torchvision.models import mobilenet_v2
from torchvision.models.mobilenetv2 import MobileNetV2, _make_divisible
from torchvision.ops.misc import Conv2dNormActivation

MNIST_TABLE = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2]]  # t, c, n, s

# name, architecture, alpha, classes, (H, W), batch, weight dtype. Widths cover the 10% rule of
# make_divisible (0.35: 32 * 0.35 = 11.2 -> 16), alpha > 1 (the seed shrinks its last conv with
# alpha, torchvision only grows it), odd sizes (67x45: each stride-2 conv sees odd and even
# inputs) and even sizes at stride 2 (28, 64), where TF's 'same' padding would pad 0/1 instead of
# PyTorch's 1/1.
FIXTURES = [
    ("mnist_a1.0", "mnist", 1.0, 10, (28, 28), 2, "F16"),
    ("mnist_a0.5", "mnist", 0.5, 10, (28, 28), 2, "F32"),
    ("mnist_a1.3", "mnist", 1.3, 10, (28, 28), 2, "BF16"),
    ("tv_a0.35_67x45", "torchvision", 0.35, 7, (67, 45), 2, "F16"),
    ("tv_a0.5_64x64", "torchvision", 0.5, 5, (64, 64), 2, "F16"),
]

NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "BF16": "<u2"}


def mnist_model(alpha, num_classes=10):
    model = MobileNetV2(num_classes=num_classes, width_mult=alpha, inverted_residual_setting=MNIST_TABLE)
    first = _make_divisible(32 * alpha, 8)
    last = _make_divisible(64 * alpha, 8)
    block_out = model.features[-1][0].in_channels
    model.features[0] = Conv2dNormActivation(1, first, stride=2, activation_layer=nn.ReLU6)
    model.features[-1] = Conv2dNormActivation(block_out, last, kernel_size=1, activation_layer=nn.ReLU6)
    model.classifier[1] = nn.Linear(last, num_classes)
    model.last_channel = last
    return model


def build(arch, alpha, num_classes):
    if arch == "mnist":
        return mnist_model(alpha, num_classes)
    return mobilenet_v2(width_mult=alpha, num_classes=num_classes)


def in_channels(arch):
    return 1 if arch == "mnist" else 3


def randomize(model, shape, gen):
    """Random weights whose activations stay O(1) through the whole network, with BN statistics
    that matter: a quarter of each conv's output channels are damped 50x so their variance is
    ~4e-4, where epsilon 1e-5 vs 1e-3 changes the output by tens of percent."""
    uniform = lambda n, lo, hi: torch.rand(n, generator=gen) * (hi - lo) + lo
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                w = torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_in)
                w[torch.rand(w.shape[0], generator=gen) < 0.25] *= 0.02
                m.weight.copy_(w)
            elif isinstance(m, nn.BatchNorm2d):
                sign = torch.where(torch.rand(m.num_features, generator=gen) < 0.2, -1.0, 1.0)
                m.weight.copy_(uniform(m.num_features, 0.5, 1.5) * sign)
                m.bias.copy_(uniform(m.num_features, -0.5, 0.5))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / math.sqrt(m.in_features))
                m.bias.copy_(uniform(m.out_features, -0.5, 0.5))

        # Calibrate: momentum 1 makes each running statistic that of one training-mode batch,
        # so the eval-mode network sees sensibly scaled activations at every depth.
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = 1.0
        model.train()
        model(torch.randn((8, *shape), generator=gen))
        for bn in bns:
            bn.momentum = 0.1
            n = bn.num_features
            bn.running_var.mul_(torch.exp(uniform(n, -0.4, 0.4))).clamp_(min=1e-6)
            bn.running_mean.add_(0.2 * torch.randn(n, generator=gen) * bn.running_var.sqrt())
            bn.num_batches_tracked.fill_(int(torch.randint(1, 10000, (1,), generator=gen)))
    model.eval()


def round_to(model, dtype):
    """Rounds every float parameter and buffer to the stored precision, in place."""
    if dtype == "F32":
        return
    low = torch.float16 if dtype == "F16" else torch.bfloat16
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(low).float())


def tensor_bytes(t, dtype):
    t = t.detach().cpu().contiguous()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(NUMPY_DTYPES[dtype]).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: {key: (dtype, tensor)}. Our own writer (Debian has no safetensors package)."""
    header, blobs, offset = {}, [], 0
    for key, (dtype, t) in tensors.items():
        data = tensor_bytes(t, dtype)
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for key, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + begin:base + end], dtype=NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])
        if info["dtype"] == "BF16":
            t = torch.from_numpy(arr.astype(np.int16)).view(torch.bfloat16).float()
        else:
            t = torch.from_numpy(arr.copy())
        out[key] = (info["dtype"], t)
    return out


def state_dict_entries(model, dtype):
    return {k: ("I64" if not v.is_floating_point() else dtype, v) for k, v in model.state_dict().items()}


def logits_of(model, nhwc):
    model = model.double().eval()
    with torch.no_grad():
        out = model(nhwc.permute(0, 3, 1, 2).double())
    model.float()
    return out


def train_step(model, nhwc):
    """One training-mode forward (dropout off): BN normalizes with the batch statistics and
    updates its running statistics with momentum 0.1, the running variance from the unbiased
    batch variance. Returns `train_logits` and `after_train.<key>` for every running buffer."""
    trained = copy.deepcopy(model).double().train()
    trained.classifier.eval()
    with torch.no_grad():
        out = trained(nhwc.permute(0, 3, 1, 2).double())
    entries = {"train_logits": ("F32", out.float())}
    for key, value in trained.state_dict().items():
        if key.endswith("running_mean") or key.endswith("running_var"):
            entries[f"after_train.{key}"] = ("F32", value.float())
    return entries


def sensitivity(model, x):
    """How far the logits move under two classic mistakes; the fixtures are only useful if this
    is far above the test tolerance."""
    base = logits_of(model, x)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.eps = 1e-3
    eps = (logits_of(model, x) - base).abs().max().item()
    for bn in bns:
        bn.eps = 1e-5
    return eps


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for index, (name, arch, alpha, classes, (h, w), batch, dtype) in enumerate(FIXTURES):
        gen = torch.Generator().manual_seed(1000 + index)
        c = in_channels(arch)
        model = build(arch, alpha, classes)
        randomize(model, (c, h, w), gen)
        round_to(model, dtype)
        x = torch.randn((batch, h, w, c), generator=gen)
        logits = logits_of(model, x)
        write_safetensors(os.path.join(out_dir, f"{name}.safetensors"), state_dict_entries(model, dtype),
                          {"format": "pt", "fixture": name})
        write_safetensors(os.path.join(out_dir, f"{name}.io.safetensors"),
                          {"input": ("F32", x), "logits": ("F32", logits.float()), **train_step(model, x)})
        manifest.append({
            "name": name, "model": arch, "alpha": alpha, "numClasses": classes, "inputShape": [h, w, c],
            "batch": batch, "dtype": dtype, "weights": f"{name}.safetensors", "io": f"{name}.io.safetensors",
        })
        print(json.dumps({"fixture": name, "maxAbsLogit": round(logits.abs().max().item(), 4),
                          "epsilon1e-3Shift": round(sensitivity(model, x), 4)}))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"note": "input is NHWC; logits from PyTorch eval mode in float64", "fixtures": manifest}, f, indent=2)
        f.write("\n")

    # State_dict keys and shapes (no weights) of models too big or too odd to ship weights for:
    # they check the key mapping for tables where t = 1 rows come later, and for alpha > 1.
    layouts = []
    for arch, alpha, classes, table in [
        ("torchvision", 1.4, 1000, None),
        ("torchvision", 0.75, 3, [[1, 16, 1, 1], [6, 24, 1, 2], [1, 32, 2, 2], [4, 40, 1, 1]]),
        ("mnist", 0.75, 10, None),
    ]:
        model = (mnist_model(alpha, classes) if arch == "mnist"
                 else MobileNetV2(num_classes=classes, width_mult=alpha, inverted_residual_setting=table))
        layouts.append({"model": arch, "alpha": alpha, "numClasses": classes, "table": table,
                        "stateDict": [[k, list(v.shape)] for k, v in model.state_dict().items()]})
    with open(os.path.join(out_dir, "key_layouts.json"), "w") as f:
        json.dump({"note": "PyTorch state_dict keys and shapes, in state_dict order", "layouts": layouts}, f)
        f.write("\n")

    trainable = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)
    counts = {
        "note": "trainable parameters counted by PyTorch: torchvision mobilenet_v2(width_mult=alpha) at 1000 classes; "
                "the seed's MNIST model at 10 classes",
        "torchvision": {str(a): trainable(mobilenet_v2(width_mult=a)) for a in [0.35, 0.5, 0.75, 1.0, 1.4]},
        "mnist": {str(a): trainable(mnist_model(a)) for a in [0.25, 0.5, 0.75, 1.0, 1.3, 2.0]},
    }
    with open(os.path.join(out_dir, "param_counts.json"), "w") as f:
        json.dump(counts, f, indent=2)
        f.write("\n")
    print(json.dumps(counts))


def check_saved(directory):
    """Loads every DIR/<name>.safetensors (written by saveTorchWeights) into the PyTorch model that
    DIR/<name>.json describes, with strict=True, and compares its logits on the input in
    DIR/<name>.io.safetensors with the logits the library computed there."""
    if not os.path.isdir(directory):
        sys.exit(f"--check-saved: {directory} is not a directory")
    specs = sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".json"))
    if not specs:
        sys.exit(f"--check-saved: no <name>.json specs in {directory}")
    ok = True
    for name in specs:
        spec = json.load(open(os.path.join(directory, f"{name}.json")))
        model = build(spec["model"], spec["alpha"], spec["numClasses"])
        entries = read_safetensors(os.path.join(directory, f"{name}.safetensors"))
        dtypes = sorted({d for d, _ in entries.values()})
        model.load_state_dict({k: t for k, (_, t) in entries.items()}, strict=True)
        io = read_safetensors(os.path.join(directory, f"{name}.io.safetensors"))
        ours = io["logits"][1].double()
        torch_logits = logits_of(model, io["input"][1])
        err = (torch_logits - ours).abs().max().item()
        tol = 1e-4 + 1e-3 * torch_logits.abs().max().item()
        ok = ok and err <= tol
        print(json.dumps({"saved": name, "strictLoad": "ok", "dtypes": dtypes, "keys": len(entries),
                          "maxAbsErr": float(f"{err:.3g}"), "tolerance": float(f"{tol:.3g}"), "pass": err <= tol}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures"))
    parser.add_argument("--check-saved", metavar="DIR")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny models: threads only add contention on a shared machine
    if args.check_saved:
        check_saved(args.check_saved)
    else:
        generate(os.path.normpath(args.out))
