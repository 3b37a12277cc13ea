#!/usr/bin/python3
"""Trains a MobileNetV2 from mobilenetv2-tfjs with PyTorch DistributedDataParallel, and saves it back.

The bridge for when one machine is not enough: the library writes a torchvision state_dict
(saveTorchWeights, safetensors), torchrun starts one process per core, GPU or machine, and the
result loads back with loadTorchWeights:

    /usr/bin/python3 -m torch.distributed.run --nproc_per_node=2 scripts/torch_ddp.py \\
        --weights start.safetensors --data data/flowers --epochs 3 --out trained.safetensors

(`torchrun` is the same launcher. Several machines: add --nnodes N --node_rank I
--master_addr HOST --master_port PORT on each. Without a launcher the script runs as one process.
Debian's torch 1.13 on Python 3.11 needs `--redirects 2 --tee 2` before the script: its default
'0' hits an IntFlag change of Python 3.11 and the launcher fails with "'NoneType' object has no
attribute 'get'", fixed in later PyTorch, pytorch/pytorch#92319.)

The architecture (t, c, n, s table, width, input size, BatchNorm settings, classes) and the
preprocessing (class names, mean, std) come from the `architecture` and `preprocessing` entries
that saveTorchWeights writes into the safetensors metadata; --architecture takes them from a
model.json (or a bare ArchitectureConfig JSON) instead, e.g. for a torchvision .pth file.
The network is torchvision's MobileNetV2 built from that config, so the state_dict keys are
torchvision's own and `load_state_dict(strict=True)` checks every tensor.

--data is an image folder, DIR/<class>/<image> (.png, .jpg, .jpeg, .webp, .gif, as the library
reads), read by torchvision's ImageFolder (classes sorted by name, as the library does) and fitted to the input like the library's 'cover' fit: scaled to
cover the input, then center-cropped. Each process trains on its own shard (DistributedSampler);
DDP averages the gradients with all-reduce (gloo on CPU, nccl on GPUs). BatchNorm statistics are
per process, and rank 0's are broadcast before every forward and saved (DDP's default; CPU has
no SyncBatchNorm).

--check-input FILE.safetensors (an `input` tensor, NHWC as in TF.js) makes rank 0 write
OUT.check.safetensors with the eval-mode logits before and after training, to compare with the
library's on both sides of the bridge. Rank 0 prints one JSON line per step and a summary last.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.distributed as dist
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from torchvision import datasets, transforms
from torchvision.models.mobilenetv2 import MobileNetV2, _make_divisible
from torchvision.ops.misc import Conv2dNormActivation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_safetensors, state_dict_entries, write_safetensors  # noqa: E402

# The library's image extensions (src/data/decodeImage.ts); torchvision's default list lacks .gif.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def fail(message):
    """One line on stderr naming what was wrong, and exit status 2, as the library's CLI does."""
    sys.stderr.write(f"error: {message}\n")
    sys.exit(2)


def read_metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def load_weights(path):
    """The state_dict and the metadata of a .safetensors file, or of a torch.save file."""
    if not os.path.isfile(path):
        fail(f"--weights {path}: no such file")
    if path.endswith(".safetensors"):
        return {k: t for k, (_, t) in read_safetensors(path).items()}, read_metadata(path)
    state = torch.load(path, map_location="cpu")
    return (state.get("state_dict", state) if isinstance(state, dict) else state), {}


def architecture_of(args, metadata):
    if args.architecture:
        with open(args.architecture) as f:
            doc = json.load(f)
        config = doc.get("userDefinedMetadata", {}).get("architecture", doc)
        preprocessing = doc.get("userDefinedMetadata", {})
    else:
        if "architecture" not in metadata:
            fail(f"--weights {args.weights}: no 'architecture' in its metadata (saveTorchWeights writes it); "
                 "pass --architecture model.json")
        config = json.loads(metadata["architecture"])
        preprocessing = json.loads(metadata.get("preprocessing", "{}"))
    return config, preprocessing


def mobilenet_from_config(config):
    """torchvision's MobileNetV2 for the library's ArchitectureConfig: its table, width and
    rounding, with the stem's input channels, the last conv and the classifier set as the config
    says (the seed's MNIST model has one channel and a last conv of make_divisible(64·α))."""
    if not config.get("includeTop", True):
        fail("the model has no classifier (includeTop false); DDP training here needs one")
    if config.get("firstChannels", 32) != 32:
        fail(f"firstChannels {config['firstChannels']}: torchvision's MobileNetV2 fixes the stem at 32 channels before α")
    alpha, rounding = config["alpha"], config["roundNearest"]
    model = MobileNetV2(num_classes=config["numClasses"], width_mult=alpha, round_nearest=rounding,
                        inverted_residual_setting=[list(row) for row in config["invertedResidualSetting"]],
                        dropout=config["dropout"])
    channels = config["inputShape"][2]
    first = _make_divisible(32 * alpha, rounding)
    if channels != 3:
        model.features[0] = Conv2dNormActivation(channels, first, stride=2, activation_layer=nn.ReLU6)
    last = config["lastChannels"]
    if last != model.last_channel:
        block_out = model.features[-1][0].in_channels
        model.features[-1] = Conv2dNormActivation(block_out, last, kernel_size=1, activation_layer=nn.ReLU6)
        model.classifier[1] = nn.Linear(last, config["numClasses"])
        model.last_channel = last
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            # The library states both in PyTorch's convention already.
            m.eps = config["batchNorm"]["epsilon"]
            m.momentum = config["batchNorm"]["momentum"]
    return model


class Cover:
    """Scale to cover (height, width), then center-crop: the library's default 'cover' fit."""

    def __init__(self, size):
        self.size = size
        self.crop = transforms.CenterCrop(size)

    def __call__(self, image):
        h, w = self.size
        scale = max(h / image.height, w / image.width)
        resized = image.resize((max(w, math.ceil(image.width * scale)), max(h, math.ceil(image.height * scale))), resample=Image.BILINEAR)
        return self.crop(resized)


def image_folder(path, config, preprocessing, flip):
    if not os.path.isdir(path):
        fail(f"--data {path}: not a directory; expected DIR/<class>/<image>")
    h, w, channels = config["inputShape"]
    mean = preprocessing.get("mean", IMAGENET_MEAN if channels == 3 else [0.5])
    std = preprocessing.get("std", IMAGENET_STD if channels == 3 else [0.5])
    steps = [transforms.Lambda(lambda im: im.convert("L" if channels == 1 else "RGB")), Cover((h, w))]
    if flip:
        steps.append(transforms.RandomHorizontalFlip())
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    data = datasets.ImageFolder(path, transform=transforms.Compose(steps),
                                is_valid_file=lambda file: file.lower().endswith(IMAGE_EXTENSIONS))
    expected = preprocessing.get("classNames")
    if expected is not None and list(expected) != data.classes:
        fail(f"--data {path}: classes {data.classes} differ from the model's classNames {expected}")
    if len(data.classes) != config["numClasses"]:
        fail(f"--data {path}: {len(data.classes)} classes, but the model has {config['numClasses']} outputs")
    return data


def eval_logits(model, nhwc):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(nhwc.permute(0, 3, 1, 2).contiguous())
    model.train(was_training)
    return out


def init_distributed(backend):
    if "RANK" not in os.environ:
        # Not started by a launcher: a world of one.
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("MASTER_PORT", "29511"))
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    return backend


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True, help="state_dict from saveTorchWeights (.safetensors) or torch.save (.pth)")
    parser.add_argument("--data", required=True, help="image folder DIR/<class>/<image>")
    parser.add_argument("--out", required=True, help="where rank 0 saves the trained state_dict (.safetensors or .pth)")
    parser.add_argument("--architecture", help="model.json (or ArchitectureConfig JSON) when the weights carry none")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=0, help="stop after this many optimizer steps (default: all epochs)")
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--flip", action="store_true", help="random horizontal flips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loader-workers", type=int, default=0)
    parser.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto")
    parser.add_argument("--check-input", help="safetensors with an NHWC `input`: logits before/after go to OUT.check.safetensors")
    args = parser.parse_args()
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')} must be an integer >= 1; received {getattr(args, name)}")

    backend = init_distributed(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}" if backend == "nccl" else "cpu")
    torch.manual_seed(args.seed)

    state, metadata = load_weights(args.weights)
    config, preprocessing = architecture_of(args, metadata)
    model = mobilenet_from_config(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        fail(f"--weights {args.weights}: does not match the architecture: {str(error).splitlines()[0]}")
    model.to(device)

    check = None
    if args.check_input and rank == 0:
        check = read_safetensors(args.check_input)["input"][1].float().to(device)
        before = eval_logits(model, check).cpu()

    data = image_folder(args.data, config, preprocessing, args.flip)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, num_workers=args.loader_workers, drop_last=False)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if backend == "nccl" else None)
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss()

    ddp.train()
    step, losses = 0, []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(ddp(x.to(device)), y.to(device))
            loss.backward()
            optimizer.step()
            step += 1
            mean_loss = loss.detach().clone()
            dist.all_reduce(mean_loss)
            mean_loss = mean_loss.item() / world
            losses.append(mean_loss)
            if rank == 0:
                print(json.dumps({"epoch": epoch + 1, "step": step, "loss": round(mean_loss, 6)}), flush=True)
            if step == args.steps:
                break
        if step == args.steps:
            break

    # DDP keeps the replicas' parameters identical; measure it rather than assume it.
    flat = torch.cat([p.detach().reshape(-1).cpu() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    spread = max((g - gathered[0]).abs().max().item() for g in gathered)

    if rank == 0:
        out_meta = {k: v for k, v in metadata.items() if k in ("architecture", "preprocessing")}
        out_meta.update(format="pt", producer="mobilenetv2-tfjs scripts/torch_ddp.py")
        if "architecture" not in out_meta:
            out_meta["architecture"] = json.dumps(config)
        model.cpu()
        if args.out.endswith(".safetensors"):
            write_safetensors(args.out, state_dict_entries(model, "F32"), out_meta)
        else:
            torch.save(model.state_dict(), args.out)
        if check is not None:
            after = eval_logits(model, check.cpu()).cpu()
            write_safetensors(args.out.rsplit(".", 1)[0] + ".check.safetensors",
                              {"input": ("F32", check.cpu()), "logits_before": ("F32", before), "logits_after": ("F32", after)})
        print(json.dumps({"summary": True, "backend": backend, "worldSize": world, "steps": step, "images": len(data), "imagesPerProcess": len(sampler),
                          "firstLoss": losses[0] if losses else None, "lastLoss": losses[-1] if losses else None,
                          "replicaSpread": spread, "out": args.out}), flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
