#!/usr/bin/python3
"""Generates the .pth fixtures in test/fixtures/pth/ for the torch.save reader.

Run with Debian's PyTorch (apt-get install python3-torch python3-torchvision):

    /usr/bin/python3 scripts/make_pth_fixtures.py            # writes test/fixtures/pth/*
    /usr/bin/python3 scripts/make_pth_fixtures.py --full DIR # α=1 ImageNet-size model into DIR (tests, at run time)

Every file is written by PyTorch itself, `torch.save(model.state_dict(), path)`, in the zip format
(torch >= 1.6) and the legacy one (`_use_new_zipfile_serialization=False`):

- `trim_{zip,legacy}_{f32,f16}.pth`: torchvision's MobileNetV2 (its own blocks and key names) with a
  trimmed table, 3 input channels, random weights and BN statistics (make_fixtures.randomize), F32
  and F16 (`.half()`); `trim_{f32,f16}.io.safetensors` holds an NHWC `input` and PyTorch's float64
  eval-mode `logits` from the weights exactly as stored. `trim.json` says how to build the model.
- `views_{zip,legacy}.pth` + `views.json`: tensors that are views (storage offset, transposed
  strides, expanded stride 0, shared storage) and every dtype a state_dict holds, with the values
  PyTorch sees, flattened in logical order.
- `checkpoint_{zip,legacy}.pth`: {"epoch", "state_dict": {weight (an nn.Parameter), bias}, "note"}.
- `checkpoint_legacy_p{3,4}.pth`: the same checkpoint in the legacy format with `pickle_protocol=3`
  and `4` (protocol 4 opens every pickle with a FRAME opcode before the magic number).
- `checkpoint_{zip,legacy}_p0.pth`: the same with `pickle_protocol=0` (text opcodes), which the
  reader refuses with a message saying to re-save with the default protocol.
- `hostile_{os_system,eval}_{zip,legacy}.pth`: pickles that call os.system / builtins.eval when
  unpickled by a general unpickler (the command is `true`, harmless even then).
- `no_data_pkl.pth`: a stored zip with tensor records but no data.pkl.
- `deflated.pth`: views_zip.pth re-zipped with deflate compression.

Legacy files name their storages by memory address and zips carry timestamps, so regenerating
changes those files' bytes but not their tensors; commit only the files a change needs.
"""
import argparse
import json
import os
import sys
import zipfile

import torch
from torch import nn
from torchvision.models.mobilenetv2 import MobileNetV2, _make_divisible
from torchvision.ops.misc import Conv2dNormActivation

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import logits_of, randomize, write_safetensors  # noqa: E402

TRIM_TABLE = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2]]  # t, c, n, s
TRIM = {"alpha": 1.0, "numClasses": 5, "lastChannels": 128, "inputShape": [40, 40, 3], "table": TRIM_TABLE}


def trimmed_model():
    model = MobileNetV2(num_classes=TRIM["numClasses"], width_mult=TRIM["alpha"], inverted_residual_setting=TRIM_TABLE)
    block_out = model.features[-1][0].in_channels
    model.features[-1] = Conv2dNormActivation(block_out, TRIM["lastChannels"], kernel_size=1, activation_layer=nn.ReLU6)
    model.classifier[1] = nn.Linear(TRIM["lastChannels"], TRIM["numClasses"])
    return model


def save_both(obj, out, name):
    """`name` has a {fmt} field: 'zip' or 'legacy'."""
    torch.save(obj, os.path.join(out, name.format(fmt="zip")))
    torch.save(obj, os.path.join(out, name.format(fmt="legacy")), _use_new_zipfile_serialization=False)


class Hostile:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def generate(out):
    os.makedirs(out, exist_ok=True)
    h, w, c = TRIM["inputShape"]
    for index, dtype in enumerate(["f32", "f16"]):
        gen = torch.Generator().manual_seed(2000 + index)
        model = trimmed_model()
        randomize(model, (c, h, w), gen)
        if dtype == "f16":
            model.half()
        save_both(model.state_dict(), out, "trim_{fmt}_" + dtype + ".pth")
        x = torch.randn((2, h, w, c), generator=gen)
        logits = logits_of(model.float(), x)
        write_safetensors(os.path.join(out, f"trim_{dtype}.io.safetensors"),
                          {"input": ("F32", x), "logits": ("F32", logits.float())})
    with open(os.path.join(out, "trim.json"), "w") as f:
        json.dump(TRIM, f)
        f.write("\n")

    # Views: what a hand-built dict of tensors can hold. torch.save keeps views as (storage, offset,
    # size, stride), sharing storages between tensors.
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    views = {
        "offset": base[5:11].view(2, 3),
        "transposed": base[:12].view(3, 4).t(),
        "expanded": torch.tensor([1.5, -2.0], dtype=torch.float32).view(2, 1).expand(2, 3),
        "f16": (torch.arange(6, dtype=torch.float32) / 3).half().view(3, 2),
        "bf16": (torch.arange(4, dtype=torch.float32) * 1.25 - 1).bfloat16(),
        "f64": torch.tensor([[0.1, 0.2], [0.3, 1e-300]], dtype=torch.float64),
        "i64": torch.tensor([7, -1, 2 ** 40], dtype=torch.int64),
        "scalar": torch.tensor(42, dtype=torch.int64),
        "empty": torch.zeros(0, 4),
    }
    save_both(views, out, "views_{fmt}.pth")
    expected = {k: {"shape": list(v.shape), "values": v.reshape(-1).double().tolist() if k != "i64" else [str(int(i)) for i in v]}
                for k, v in views.items()}
    with open(os.path.join(out, "views.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")

    # A training checkpoint: the state_dict nested under "state_dict", next to plain values, and
    # a Parameter (pickled through torch._utils._rebuild_parameter) as a value.
    linear = nn.Linear(3, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.arange(6, dtype=torch.float32).view(2, 3))
        linear.bias.copy_(torch.tensor([0.5, -0.5]))
    save_both({"epoch": 3, "state_dict": {"weight": linear.weight, "bias": linear.bias.detach()}, "note": "checkpoint"},
              out, "checkpoint_{fmt}.pth")
    for fmt, zipped in (("zip", True), ("legacy", False)):
        torch.save({"epoch": 3, "state_dict": {"weight": linear.weight, "bias": linear.bias.detach()}, "note": "checkpoint"},
                   os.path.join(out, f"checkpoint_{fmt}_p0.pth"), pickle_protocol=0, _use_new_zipfile_serialization=zipped)
    for protocol in (3, 4):
        torch.save({"epoch": 3, "state_dict": {"weight": linear.weight, "bias": linear.bias.detach()}, "note": "checkpoint"},
                   os.path.join(out, f"checkpoint_legacy_p{protocol}.pth"), pickle_protocol=protocol,
                   _use_new_zipfile_serialization=False)

    save_both({"x": Hostile(os.system, "true")}, out, "hostile_os_system_{fmt}.pth")
    save_both({"x": Hostile(eval, "1 + 1")}, out, "hostile_eval_{fmt}.pth")

    with zipfile.ZipFile(os.path.join(out, "no_data_pkl.pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data/0", b"\0" * 16)
        z.writestr("archive/version", b"3\n")

    # A .pth re-zipped with compression (no torch.save does this): refused, not inflated.
    with zipfile.ZipFile(os.path.join(out, "views_zip.pth")) as src, \
            zipfile.ZipFile(os.path.join(out, "deflated.pth"), "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            z.writestr(name, src.read(name))


def full(out):
    """torchvision's default mobilenet_v2 (α=1, 1000 classes, 3,504,872 parameters) with random
    weights, saved in the zip format, plus logits and pooled features for two 224x224 inputs."""
    from torchvision.models import mobilenet_v2
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(3000)
    model = mobilenet_v2()
    randomize(model, (3, 224, 224), gen)
    torch.save(model.state_dict(), os.path.join(out, "full.pth"))
    x = torch.randn((2, 224, 224, 3), generator=gen)
    with torch.no_grad():
        features = model.double().features(x.permute(0, 3, 1, 2).double()).mean((2, 3))  # the pooled 1280-d embedding
    write_safetensors(os.path.join(out, "full.io.safetensors"),
                      {"input": ("F32", x), "logits": ("F32", logits_of(model, x).float()), "features": ("F32", features.float())})
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "pth"))
    parser.add_argument("--full", metavar="DIR")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.full:
        full(args.full)
    else:
        generate(os.path.normpath(args.out))
