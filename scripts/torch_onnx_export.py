#!/usr/bin/python3
"""torchvision's MobileNetV2 through PyTorch's own ONNX exporter, for the parity test against
this library's exportOnnx (test/onnxTorch.test.ts):

    /usr/bin/python3 scripts/torch_onnx_export.py OUT_DIR [--alpha 1.0] [--size 224 224] [--classes 1000] [--seed 0]

Writes to OUT_DIR:
- weights.pth: the model's state_dict (torch.save), random weights with BatchNorm statistics that
  matter (make_fixtures.py's `randomize`), which the library's pretrainedMobileNetV2 reads;
- torch.onnx: torch.onnx.export of the same model in eval mode, opset 13, input 'input' NCHW
  float32 and output 'logits', the batch axis dynamic;
- io.json: the input's shape, the input itself (NCHW) and PyTorch's own eval logits for it,
  as flat lists.
"""
import argparse
import json
import os
import sys

import torch
from torchvision.models import mobilenet_v2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import randomize  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--alpha", type=float, default=1.0)
parser.add_argument("--size", type=int, nargs=2, default=[224, 224])
parser.add_argument("--classes", type=int, default=1000)
parser.add_argument("--batch", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

os.makedirs(args.out, exist_ok=True)
gen = torch.Generator().manual_seed(args.seed)
model = mobilenet_v2(width_mult=args.alpha, num_classes=args.classes)
h, w = args.size
randomize(model, (3, h, w), gen)
model.eval()
torch.save(model.state_dict(), os.path.join(args.out, "weights.pth"))

x = torch.randn((args.batch, 3, h, w), generator=gen)
with torch.no_grad():
    logits = model(x)
    torch.onnx.export(
        model, x, os.path.join(args.out, "torch.onnx"), opset_version=13,
        input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
with open(os.path.join(args.out, "io.json"), "w") as f:
    json.dump({"shape": list(x.shape), "input": x.flatten().tolist(), "logits": logits.flatten().tolist(), "torch": torch.__version__}, f)
