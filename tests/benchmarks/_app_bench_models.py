"""Model files for the app benchmarks: the shipped model if present, else same-graph stand-ins.

Latency depends on the graph, not the weights, so an untrained export of the shipped
architecture times the same as the trained file. Benchmarks may import torch; the app may not.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "digitpad" / "assets" / "models" / "default.onnx"


def model_for(arch: str = "digitpad") -> tuple[Path, str]:
    """(path, description). The shipped file when it exists and arch is the default."""
    if arch == "digitpad" and SHIPPED.is_file():
        return SHIPPED, "shipped model"
    import torch

    from training.export import export
    from training.models import build

    torch.manual_seed(0)
    net = build(arch).eval()
    out = Path(tempfile.mkdtemp(prefix="digitpad-bench-")) / f"{arch}.onnx"
    export(net, out, arch=arch, dataset="mnist", metrics={}, training={"device": "cpu"})
    return out, f"untrained export of arch {arch!r} (shipped model absent; same graph, same cost)"


def conv_flops(path: Path) -> float:
    """Multiply-adds x 2 of the Conv and Gemm/MatMul nodes at batch 1, from ONNX shape inference."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    g = model.graph
    shapes = {}
    for vi in list(g.value_info) + list(g.output) + list(g.input):
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    flops = 0.0
    for node in g.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            out = shapes.get(node.output[0])
            if out:
                flops += 2.0 * out[1] * out[2] * out[3] * w.shape[1] * w.shape[2] * w.shape[3]
        elif node.op_type in ("Gemm", "MatMul"):
            w = inits.get(node.input[1])
            if w is not None:
                flops += 2.0 * w.shape[0] * w.shape[1]
    return flops
