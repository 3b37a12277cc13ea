#!/usr/bin/python3
"""Runs ONNX's own checker on exported files: onnx.checker.check_model(model, full_check=True),
which also runs strict shape inference. Prints one JSON line per file (opset, IR version, the
inputs' and outputs' shapes, metadata_props) and exits 1 naming the first file that fails.

    /usr/bin/python3 scripts/check_onnx.py model.onnx [more.onnx ...]
"""
import json
import sys

import onnx


def shape(value):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value.type.tensor_type.shape.dim]


for path in sys.argv[1:]:
    model = onnx.load(path)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # the checker raises ValidationError, shape inference InferenceError
        print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({
        "file": path,
        "ir_version": model.ir_version,
        "opset": {o.domain: o.version for o in model.opset_import},
        "producer": [model.producer_name, model.producer_version],
        "inputs": {v.name: shape(v) for v in model.graph.input},
        "outputs": {v.name: shape(v) for v in model.graph.output},
        "metadata": {p.key: json.loads(p.value) for p in model.metadata_props},
        "ops": sorted({n.op_type for n in model.graph.node}),
    }))
