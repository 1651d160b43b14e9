"""``digitpad-train``: the same engine the app drives, for a shell.

    digitpad-train --preset fast --data-dir ../shared/datasets --out fast.onnx
    digitpad-train export RUN.ckpt.pt --out RUN.onnx
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from digitpad.core.fileio import atomic_write_text

from .config import ENGINES, PRESETS, TrainConfig, default_preset, preset
from .errors import TrainError
from .progress import Reporter

_CONFIG_FLAGS = {f"--{name.replace('_', '-')}": name for name in TrainConfig.__dataclass_fields__}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digitpad-train", description="Train a digit CNN and export it to ONNX.",
                                epilog="Subcommand: digitpad-train export CKPT [--out FILE.onnx]")
    S = argparse.SUPPRESS  # only flags the user typed reach the config, so they override the preset
    p.add_argument("--preset", default=None, help="named recipe (see --list-presets); default: default "
                   "(seed004 with --engine numpy, optdigits with --dataset optdigits)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    p.add_argument("--list-archs", action="store_true", help="print the architectures and exit")
    p.add_argument("--engine", default=S, choices=ENGINES,
                   help="torch (default) | numpy: the from-scratch NumPy engine (training/scratch), no torch")
    p.add_argument("--arch", default=S)
    p.add_argument("--dataset", default=S, help="mnist | fashion-mnist | optdigits (the UCI 8x8 digits)")
    p.add_argument("--data-dir", default=S, help="folder with IDX files (no download); "
                   "default: download into the user's data folder")
    p.add_argument("--epochs", type=int, default=S)
    p.add_argument("--batch-size", type=int, default=S)
    p.add_argument("--lr", type=float, default=S)
    p.add_argument("--optimizer", default=S, help="adamw | sgd")
    p.add_argument("--momentum", type=float, default=S, help="sgd's Nesterov momentum (0: plain SGD)")
    p.add_argument("--weight-decay", type=float, default=S)
    p.add_argument("--schedule", default=S, help="onecycle | cosine | constant")
    p.add_argument("--label-smoothing", type=float, default=S)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=S)
    p.add_argument("--mild-epochs", type=int, default=S, metavar="N",
                   help="the last N epochs use augmentation at --mild-strength (0..1) of full strength")
    p.add_argument("--mild-strength", type=float, default=S)
    p.add_argument("--ema", type=float, default=S, metavar="DECAY",
                   help="keep an exponential moving average of the weights (e.g. 0.999; 0: off); "
                        "it is what gets evaluated and exported")
    p.add_argument("--device", default=S, help="auto | cpu | cuda")
    p.add_argument("--seed", type=int, default=S)
    p.add_argument("--threads", type=int, default=S, help="torch threads in this process")
    p.add_argument("--limit", type=int, default=S, help="train on the first N images only")
    p.add_argument("--out", default=S, help="FILE.onnx (default: a new file in the app's model library)")
    p.add_argument("--extra", action="append", default=S, metavar="FILE.npz",
                   help="extra labelled digits to train on (repeatable): images uint8 [N,28,28], labels")
    p.add_argument("--extra-repeat", type=int, default=S, help="times each extra sample is seen per epoch")
    p.add_argument("--synthetic", type=int, default=S, metavar="N",
                   help="add N synthetic drawn-style digits (the app's stroke templates) to training")
    p.add_argument("--restroke", type=int, default=S, metavar="N",
                   help="add N MNIST training digits redrawn with a uniform round pen")
    p.add_argument("--init", default=S, metavar="CKPT_OR_ONNX", help="start from these weights (fine-tuning)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CKPT",
                   help="continue from CKPT, or from the checkpoint beside --out")
    p.add_argument("--progress", choices=["bar", "jsonl", "none"], default="bar")
    return p


def default_model_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("DIGITPAD_DATA_DIR") or platformdirs.user_data_dir("digitpad")) / "models"


def _check_writable(out: Path) -> None:
    """Fail before training, not after it, when the model cannot be written."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.with_name(f".{out.name}.probe{os.getpid()}")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise TrainError(f"cannot write to {out.parent}: {e.strerror or e}") from None
    if out.suffix != ".onnx":
        raise TrainError(f"--out must end in .onnx (got {out.name})")


def _write_json_atomic(path: Path, obj) -> None:
    try:
        atomic_write_text(path, json.dumps(obj, indent=1))
    except OSError as e:
        raise TrainError(f"cannot write {path}: {e.strerror or e}") from None


def _engine(args: argparse.Namespace, given: dict) -> str:
    """numpy for --engine numpy, a NumPy-engine preset, or a NumPy checkpoint (.ckpt.npz) to resume."""
    from .scratch.checkpoint import SUFFIX, checkpoint_path  # torch-free

    if "engine" in given:
        return given["engine"]
    if isinstance(args.resume, str):
        return "numpy" if args.resume.endswith(SUFFIX) else "torch"
    if args.resume is True and "out" in given:
        return "numpy" if checkpoint_path(given["out"]).is_file() else "torch"
    return preset(args.preset or default_preset(None, given.get("dataset"))).engine


def run_training(args: argparse.Namespace, reporter: Reporter) -> int:
    given = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    if _engine(args, given) == "numpy":
        from .scratch import train as scratch  # NumPy only: this path never imports torch

        return scratch.run(args, given, reporter)
    from . import checkpoint, export, train  # torch: only once we know there is work to do

    resume = None
    if args.resume:
        if args.resume is True:
            if "out" not in given:
                raise TrainError("--resume without a checkpoint path needs --out (the checkpoint sits beside it)")
            ckpt_file = checkpoint.checkpoint_path(Path(given["out"]))
        else:
            ckpt_file = Path(args.resume)
        resume = checkpoint.load(ckpt_file)
        cfg = TrainConfig.from_dict(resume["config"])
        for key in ("arch", "dataset"):
            if key in given and given[key] != getattr(cfg, key):
                raise TrainError(f"--{key} {given[key]} does not match the checkpoint's {getattr(cfg, key)}")
        cfg = replace(cfg, **given)
    else:
        cfg = replace(preset(args.preset or default_preset(None, given.get("dataset"))), **given)
        if cfg.init and "arch" not in given:  # fine-tuning: the arch is the starting model's
            cfg.arch = checkpoint.load(train.init_checkpoint_path(cfg.init))["config"]["arch"]
    cfg.validate()
    if cfg.out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg.out = str(default_model_dir() / f"{cfg.arch}-{cfg.dataset}-{stamp}.onnx")
    out = Path(cfg.out)
    _check_writable(out)
    ckpt_file = Path(args.resume) if isinstance(args.resume, str) else checkpoint.checkpoint_path(out)

    result = train.train(cfg, reporter, ckpt_file, resume)
    if result.status != "completed":
        reporter.emit("done", status=result.status, checkpoint=str(ckpt_file), elapsed_s=result.elapsed_s)
        return 0
    reporter.log(f"exporting {out} ...")
    final = result.history[-1] if result.history else {}
    meta = export.export(
        result.model, out, arch=cfg.arch, dataset=cfg.dataset,
        metrics={k: final[k] for k in ("test_accuracy", "test_loss", "train_loss") if k in final},
        training={"config": cfg.to_dict(), "device": result.device, "seconds": round(result.elapsed_s, 2),
                  "epochs_run": len(result.history), "history": result.history},
        parity_images=result.test_split.images, parity_scale=result.test_split.full_scale,
    )
    # The run log beside the model: what the app's runs history reads back.
    _write_json_atomic(out.with_suffix(".run.json"), {
        "config": cfg.to_dict(), "history": result.history, "status": result.status,
        "device": result.device, "seconds": result.elapsed_s, "metrics": meta["metrics"],
        "model": out.name, "checkpoint": ckpt_file.name, "created": meta["created"]})
    m = meta["metrics"]
    reporter.emit("exported", path=str(out), checkpoint=str(ckpt_file), metrics=m)
    reporter.log(f"wrote {out}: test accuracy {m.get('test_accuracy', float('nan')):.2%}, ONNX Runtime top-1 "
                 f"agreement {m['parity_top1_agreement']:.2%}, max |prob diff| {m['parity_max_prob_diff']:.1e}")
    reporter.emit("done", status="completed", path=str(out), elapsed_s=result.elapsed_s)
    return 0


def run_export(argv: list[str], reporter: Reporter) -> int:
    p = argparse.ArgumentParser(prog="digitpad-train export", description="Export a checkpoint to ONNX.")
    p.add_argument("checkpoint")
    p.add_argument("--out", help="FILE.onnx (default: beside the checkpoint)")
    p.add_argument("--data-dir", help="IDX folder for the parity check and test metrics")
    p.add_argument("--progress", choices=["bar", "jsonl", "none"], default="bar")
    args = p.parse_args(argv)
    reporter.mode = args.progress
    if args.checkpoint.endswith(".ckpt.npz"):
        from .scratch import train as scratch  # the NumPy engine's checkpoint: no torch

        return scratch.export_checkpoint(Path(args.checkpoint), Path(args.out) if args.out else None,
                                         args.data_dir, reporter)
    from . import checkpoint, data, export, models, train

    ckpt = checkpoint.load(Path(args.checkpoint))
    cfg = TrainConfig.from_dict(ckpt["config"])
    out = Path(args.out) if args.out else Path(str(args.checkpoint).removesuffix(".ckpt.pt") + ".onnx")
    _check_writable(out)
    net = models.build(cfg.arch)
    net.load_state_dict(checkpoint.inference_weights(ckpt))
    _, test = data.load(cfg.dataset, args.data_dir or cfg.data_dir)
    import torch

    metrics = train.evaluate(net.eval(), torch.from_numpy(test.images.copy()), torch.from_numpy(test.labels),
                             full_scale=test.full_scale)
    meta = export.export(net, out, arch=cfg.arch, dataset=cfg.dataset, metrics=metrics,
                         training={"config": cfg.to_dict(), "seconds": round(ckpt["elapsed_s"], 2),
                                   "epochs_run": ckpt["epoch"], "history": ckpt["history"], "device": "cpu",
                                   "partial": ckpt["step_in_epoch"] > 0 or ckpt["epoch"] < cfg.epochs},
                         parity_images=test.images, parity_scale=test.full_scale)
    reporter.emit("exported", path=str(out), checkpoint=str(args.checkpoint), metrics=meta["metrics"])
    reporter.log(f"wrote {out}: test accuracy {metrics['test_accuracy']:.2%}")
    reporter.emit("done", status="completed", path=str(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reporter = Reporter("jsonl" if "jsonl" in argv else "bar")
    try:
        if argv and argv[0] == "export":
            return run_export(argv[1:], reporter)
        args = _parser().parse_args(argv)
        reporter.mode = args.progress
        if args.list_presets:
            for name, (text, overrides) in PRESETS.items():
                print(f"{name:10s} {text}\n{'':10s} {overrides or '(the TrainConfig defaults)'}")
            return 0
        if args.list_archs:
            from .models import describe_archs

            for a in describe_archs():
                print(f"{a['arch']:10s} {a['params']:>9,d} params  {a['description']}")
            return 0
        return run_training(args, reporter)
    except TrainError as e:
        reporter.close()
        reporter.emit("error", message=str(e))
        print(f"digitpad-train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        reporter.close()
        reporter.emit("error", message="interrupted")
        print("digitpad-train: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an engine bug or an OS failure: still one event and a non-zero exit
        reporter.close()
        reporter.emit("error", message=f"{type(e).__name__}: {e}")
        import traceback

        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
