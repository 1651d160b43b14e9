"""``digitpad-train``: the same engine the app drives, for a shell.

    digitpad-train --preset fast --data-dir ../shared/datasets --out fast.onnx
    digitpad-train --arch seed001 --epochs 1 --data-dir ../shared/datasets   # TrainConfig's defaults + these
    digitpad-train --preset cifar10 --data-dir ../shared/datasets              # CIFAR-10, colour photos
    digitpad-train --dataset folder --arch cifar10 --data-dir ~/Pictures/labelled   # your own pictures
    digitpad-train export RUN.ckpt.pt --out RUN.onnx
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

from digitpad.core.paths import NUMPY_CHECKPOINT_SUFFIX, RunFiles, models_dir

from . import finish
from .config import (
    AUGMENT_STYLES,
    ENGINES,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    SCHEDULES,
    TrainConfig,
    default_preset,
    preset,
    samples_per_epoch,
)
from .errors import TrainError, allocation_message, is_allocation_failure
from .progress import Reporter

_FIELDS = TrainConfig.__dataclass_fields__
# What --resume may change: how and where the run goes on, not what it learns. A changed
# --epochs rebuilds the learning-rate schedule for the new total.
RESUMABLE = ("epochs", "threads", "data_dir", "out", "device")
# A final train loss above ln(10) is worse than guessing uniformly over 10 classes.


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage and exits, leaving nothing on stdout for the app
        raise TrainError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = _Parser(prog="digitpad-train", description="Train a CNN on digits or colour pictures and export it to ONNX. "
                "Without --preset a run is the plain defaults below plus your flags; --preset default is the shipped "
                "model's recipe, --preset cifar10 the fastest way to a good CIFAR-10 model, --preset seed003 the "
                "Keras CIFAR-10 example.",
                epilog="Subcommand: digitpad-train export CKPT [--out FILE.onnx]")
    S = argparse.SUPPRESS  # only flags the user typed reach the config, so they override the preset
    p.add_argument("--preset", default=None, help="a named recipe, overridden by your flags (see --list-presets); "
                   "default: none, i.e. the defaults below (seed004 with --engine numpy, optdigits with "
                   "--dataset optdigits)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    p.add_argument("--list-archs", action="store_true", help="print the architectures and exit")
    p.add_argument("--engine", default=S, choices=ENGINES,
                   help="torch (default) | numpy: the from-scratch NumPy engine (training/scratch), no torch")
    p.add_argument("--arch", default=S, help=f"network (see --list-archs; default {d.arch})")
    p.add_argument("--dataset", default=S,
                   help="mnist | fashion-mnist | optdigits (the UCI 8x8 digits) | cifar10 (32x32 colour photos) | "
                        "folder (your labelled pictures in --data-dir: one sub-folder per class, 2 to 100, the "
                        f"folder names are the class names; train/ and test/ or split here) (default {d.dataset})")
    p.add_argument("--data-dir", default=S, help="the data folder (no download): IDX files, optdigits/, "
                   "cifar-10-batches-py/ or cifar10/train|test/<class>/, or your pictures for --dataset folder; "
                   "pictures are decoded once and cached in the user's data folder. Default: download into the "
                   "user's data folder")
    p.add_argument("--epochs", type=int, default=S, help=f"passes over the training set (default {d.epochs})")
    p.add_argument("--batch-size", type=int, default=S, help=f"images per step (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=S, help=f"(peak) learning rate (default {d.lr})")
    p.add_argument("--optimizer", default=S, help=f"{' | '.join(OPTIMIZERS)} (rmsprop: Keras's, rho 0.9, "
                   f"epsilon 1e-7) (default {d.optimizer})")
    p.add_argument("--momentum", type=float, default=S,
                   help=f"sgd's Nesterov momentum, 0: plain SGD (default {d.momentum})")
    p.add_argument("--weight-decay", type=float, default=S,
                   help=f"on conv and linear weights (default {d.weight_decay})")
    p.add_argument("--schedule", default=S, help=f"{' | '.join(SCHEDULES)} (inverse-time: lr / (1 + lr-decay * "
                   f"step), Keras's optimizer decay) (default {d.schedule})")
    p.add_argument("--lr-decay", type=float, default=S, metavar="DECAY",
                   help=f"the inverse-time schedule's decay per step (default {d.lr_decay})")
    p.add_argument("--precision", default=S, choices=PRECISIONS,
                   help="what training steps compute in: fp32 | bf16 (bfloat16 autocast; weights, evaluation of the "
                        "last epoch and the export stay float32) | auto (bf16 where the CPU or GPU runs it natively, "
                        f"else fp32) (default {d.precision})")
    p.add_argument("--label-smoothing", type=float, default=S, help=f"(default {d.label_smoothing})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=S,
                   help="augment every batch: digits get random slant, size, wobble and pen width; photos random "
                        "shifts (crops of the padded image) and horizontal flips (default off)")
    p.add_argument("--augment-style", default=S, choices=AUGMENT_STYLES,
                   help="auto: the data set's own; keras: Keras's ImageDataGenerator shifts of 0.1 (bilinear, "
                        f"nearest fill) and flips, as the seed003 preset trains (default {d.augment_style})")
    p.add_argument("--mild-epochs", type=int, default=S, metavar="N",
                   help="the last N epochs use augmentation at --mild-strength (0..1) of full strength")
    p.add_argument("--mild-strength", type=float, default=S, help=f"(default {d.mild_strength})")
    p.add_argument("--ema", type=float, default=S, metavar="DECAY",
                   help="keep an exponential moving average of the weights (e.g. 0.999; default 0: off); "
                        "it is what gets evaluated and exported")
    p.add_argument("--device", default=S, help=f"auto | cpu | cuda (default {d.device})")
    p.add_argument("--seed", type=int, default=S, help=f"(default {d.seed})")
    p.add_argument("--threads", type=int, default=S,
                   help="torch threads in this process; 0: as many as the cores left idle by the rest of the machine "
                        "when the run starts (default: torch's, one per core)")
    p.add_argument("--limit", type=int, default=S,
                   help="train on N images only: the first N digits, or N pictures spread over the set")
    p.add_argument("--out", default=S, help="FILE.onnx (default: a new file in the app's model library)")
    p.add_argument("--extra", action="append", default=S, metavar="FILE.npz",
                   help="extra labelled digits to train on (repeatable): images uint8 [N,28,28], labels")
    p.add_argument("--extra-repeat", type=int, default=S, help="times each extra sample is seen per epoch")
    p.add_argument("--synthetic", type=int, default=S, metavar="N",
                   help="add N synthetic drawn-style digits (the app's stroke templates) to training (default 0)")
    p.add_argument("--restroke", type=int, default=S, metavar="N",
                   help="add N MNIST training digits redrawn with a uniform round pen (default 0)")
    p.add_argument("--init", default=S, metavar="CKPT_OR_ONNX", help="start from these weights (fine-tuning)")
    p.add_argument("--real-writers", type=int, default=S, metavar="K",
                   help="add each training writer's real pen-recorded digit (UNIPEN 1a in the data folder), "
                        "drawn K times with varied size, pen, slant and rotation")
    p.add_argument("--nondigits", type=int, default=S, metavar="N",
                   help="add N generated non-digits (scribbles, shapes, letters, digit pairs) trained towards "
                        "a uniform distribution: the model learns to say 'not a digit'")
    p.add_argument("--nondigit-weight", type=float, default=S, help="loss weight of a non-digit (default 0.5)")
    p.add_argument("--not-digit-rate", type=float, default=S,
                   help="calibrate the not-a-digit threshold to flag this share of held-out real digits")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CKPT",
                   help="continue from CKPT, or from the checkpoint beside --out; only --epochs, --threads, "
                        "--device, --data-dir and --out may differ from the run's")
    p.add_argument("--progress", choices=["bar", "jsonl", "none"], default="bar",
                   help="bar: a progress bar on stderr; jsonl: one JSON event per stdout line (for programs)")
    return p


def _import_torch() -> None:
    # torch takes ~1.4 s to import here, and torch.optim's first use imports torch._dynamo for
    # another ~1.2 s; a thread does both while the main thread reads the data, then what the
    # export needs (~0.2 s) while the first steps run.
    import torch._dynamo  # noqa: F401, I001 - in this order: the export's modules come last
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401


def _flag(name: str, value) -> str:
    flag = name.replace("_", "-")
    return (f"--{flag}" if value else f"--no-{flag}") if isinstance(value, bool) else f"--{flag} {value}"


def _resumed_config(resume: dict, given: dict, args: argparse.Namespace, path: Path) -> TrainConfig:
    """The run's own config with the changes a resume allows; TrainError for any other."""
    if resume["legacy"]:
        raise TrainError(f"{path} was written before checkpoints had run ids: it can be exported "
                         "(digitpad-train export) or fine-tuned from (--init), not resumed")
    if args.preset:
        raise TrainError("--preset does not go with --resume: a resumed run keeps its own recipe")
    cfg = TrainConfig.from_dict(resume["config"])
    changed = [f"{_flag(k, v)} (the run has {_flag(k, getattr(cfg, k)) if isinstance(v, bool) else getattr(cfg, k)})"
               for k, v in given.items() if k not in RESUMABLE and v != getattr(cfg, k)]
    if changed:
        raise TrainError(f"a resumed run keeps its recipe, so {', '.join(changed)} cannot change; only "
                         f"{', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} can")
    if given.get("epochs", cfg.epochs) < resume["epoch"]:
        raise TrainError(f"--epochs {given['epochs']}: the run has already finished {resume['epoch']} epochs")
    return replace(cfg, **given)


def _init_checkpoint(cfg: TrainConfig, given: dict, reporter: Reporter) -> dict:
    """The checkpoint to fine-tune from (``--init X.ckpt.pt``, or ``X.onnx`` with its checkpoint
    beside it, checked to hold that model's weights); sets ``cfg.arch`` to its arch."""
    from . import checkpoint

    path = Path(cfg.init)
    model = path if path.suffix == ".onnx" else None
    if model is not None:
        path = RunFiles.of(model).checkpoint
        if not path.is_file():
            raise TrainError(f"--init {model}: no checkpoint {path.name} beside it; fine-tuning needs the "
                             "PyTorch weights that digitpad-train keeps next to every model it exports")
    ckpt = checkpoint.load(path)
    if model is not None:
        how = checkpoint.match_model(model, ckpt, path)
        if how == "run":
            raise TrainError(f"--init {model}: its checkpoint {path.name} holds later weights of the same run "
                             f"(the run went on after this model was exported); --init {path.name} to fine-tune "
                             "those, or export it first")
        if how == "dense layers":
            reporter.log(f"{model.name} predates run ids; its dense layers equal {path.name}'s, so that is its "
                         "checkpoint (its weights cannot be checksum-verified)")
    arch = ckpt["config"]["arch"]
    if "arch" in given and given["arch"] != arch:
        raise TrainError(f"--init {cfg.init} is a {arch} model, not {given['arch']} (leave out --arch)")
    cfg.arch = arch
    return ckpt


def _parent(resume: dict | None, init: dict | None) -> dict | None:
    """The run a model was fine-tuned from: run id and weights checksum (a resume keeps its run's)."""
    if resume is not None:
        return resume["parent"]
    return {"run_id": init["run_id"], "weights_sha256": init["weights_sha256"]} if init is not None else None


def _engine(args: argparse.Namespace, given: dict) -> str:
    """numpy for --engine numpy, a NumPy-engine preset, or a NumPy checkpoint (.ckpt.npz) to resume."""
    from .scratch.checkpoint import SUFFIX, checkpoint_path  # torch-free

    if "engine" in given:
        return given["engine"]
    if isinstance(args.resume, str):
        return "numpy" if args.resume.endswith(SUFFIX) else "torch"
    if args.resume is True and "out" in given:
        return "numpy" if checkpoint_path(given["out"]).is_file() else "torch"
    name = args.preset or default_preset(None, given.get("dataset"))
    return preset(name).engine if name else TrainConfig.engine


def run_training(args: argparse.Namespace, reporter: Reporter) -> int:
    given = {k: v for k, v in vars(args).items() if k in _FIELDS}
    if _engine(args, given) == "numpy":
        from .scratch import train as scratch  # NumPy only: this path never imports torch

        return scratch.run(args, given, reporter)
    from . import data  # noqa: F401 - numpy and the IDX reader first: the torch thread would hold numpy's import lock

    threading.Thread(target=_import_torch, daemon=True).start()
    resume = init = None
    if args.resume:
        from . import checkpoint

        if args.resume is True and "out" not in given:
            raise TrainError("--resume without a checkpoint path needs --out (the checkpoint sits beside it)")
        ckpt_file = RunFiles.of(given["out"]).checkpoint if args.resume is True else Path(args.resume)
        resume = checkpoint.load(ckpt_file)
        cfg = _resumed_config(resume, given, args, ckpt_file)
    else:
        args.preset = args.preset or default_preset(None, given.get("dataset"))
        cfg = replace(preset(args.preset) if args.preset else TrainConfig(), **given)
        if cfg.init:
            init = _init_checkpoint(cfg, given, reporter)
    cfg.validate()
    if cfg.out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg.out = str(models_dir() / f"{cfg.arch}-{cfg.dataset}-{stamp}.onnx")
    out = Path(cfg.out)
    ckpt_file = Path(args.resume) if isinstance(args.resume, str) else RunFiles.of(out).checkpoint
    with finish.claim_out(out, resuming=ckpt_file if resume is not None else None):
        return _train_into(out, ckpt_file, cfg, args, resume, init, reporter)


def _train_into(out: Path, ckpt_file: Path, cfg: TrainConfig, args: argparse.Namespace, resume: dict | None,
                init: dict | None, reporter: Reporter) -> int:
    """The run itself, once ``--out`` is this run's (``finish.claim_out``): train, then export."""
    from . import data

    train_split, test_split, sources = data.load_training(cfg, reporter)
    if cfg.dataset == "folder":
        if resume is not None and cfg.classes != train_split.classes:
            raise TrainError(f"the folder's classes are now {', '.join(train_split.classes)}; the run's were "
                             f"{', '.join(cfg.classes or [])}: resume with the same pictures")
        cfg.classes = train_split.classes
    from . import checkpoint, export, train

    result = train.train(cfg, (train_split, test_split), reporter, ckpt_file, resume, init, args.preset)
    if result.status != "completed":
        reporter.emit("done", status=result.status, checkpoint=str(ckpt_file), elapsed_s=result.elapsed_s)
        return 0
    # A stop now would lose a finished run's model for the last second of its work: the
    # export finishes first (a second signal still interrupts it, leaving no temporary file).
    with train.StopFlag() as stop:
        from . import calibrate

        rule = calibrate.calibrate(result.model, cfg, result.test_split.images, reporter.log)
        reporter.log(f"exporting {out} ...")
        warnings = finish.run_warnings(result.history)
        training = {"config": cfg.to_dict(), "preset": args.preset if resume is None else None,
                    "device": result.device, "precision": result.precision, "threads": result.threads,
                    "seconds": round(result.elapsed_s, 2),
                    "epochs_run": len(result.history), "history": result.history, "run_id": result.run_id,
                    "weights_sha256": checkpoint.weights_digest(result.model.state_dict()),
                    "parent": _parent(resume, init), "warnings": warnings, "data": sources}
        meta = export.export(result.model, out, arch=cfg.arch, dataset=cfg.dataset,
                             metrics=finish.final_metrics(result.history),
                             training=training, parity_images=result.test_split.images,
                             parity_scale=result.test_split.full_scale,
                             parity_reference=result.test_probs, not_digit=rule, classes=cfg.classes)
        run_log = {"config": cfg.to_dict(), "history": result.history, "status": result.status,
                   "device": result.device, "seconds": result.elapsed_s, "model": out.name,
                   "checkpoint": ckpt_file.name, "run_id": result.run_id, "warnings": warnings,
                   "not_digit": rule}
        finish.finish_export(reporter, out, ckpt_file, meta, run_log, warnings)
    if stop.requested:
        reporter.log("stop requested during the export: the run had finished, so the model was written first")
    reporter.emit("done", status="completed", path=str(out), elapsed_s=result.elapsed_s, warnings=warnings)
    return 0


def run_export(argv: list[str], reporter: Reporter) -> int:
    p = _Parser(prog="digitpad-train export", description="Export a checkpoint to ONNX.")
    p.add_argument("checkpoint", help="a .ckpt.pt file written by digitpad-train")
    p.add_argument("--out", help="FILE.onnx (default: beside the checkpoint)")
    p.add_argument("--data-dir", help="IDX folder for the parity check and test metrics")
    p.add_argument("--best", action="store_true",
                   help="export the epoch with the best test accuracy instead of the last (default file: "
                        "NAME-best-epochN.onnx beside the checkpoint)")
    p.add_argument("--progress", choices=["bar", "jsonl", "none"], default="bar")
    args = p.parse_args(argv)
    reporter.mode = args.progress
    if args.best and args.checkpoint.endswith(NUMPY_CHECKPOINT_SUFFIX):
        raise TrainError("--best: the NumPy engine's checkpoints keep only the last epoch")
    if args.checkpoint.endswith(NUMPY_CHECKPOINT_SUFFIX):
        from .scratch import train as scratch  # the NumPy engine's checkpoint: no torch

        return scratch.export_checkpoint(Path(args.checkpoint), Path(args.out) if args.out else None,
                                         args.data_dir, reporter)
    threading.Thread(target=_import_torch, daemon=True).start()
    from . import checkpoint, data  # noqa: F401 - data before torch's thread holds numpy's import lock

    ckpt_file = Path(args.checkpoint)
    ckpt = checkpoint.load(ckpt_file)
    cfg = TrainConfig.from_dict(ckpt["config"])
    weights, weights_sha256, best_epoch = checkpoint.inference_weights(ckpt), ckpt["weights_sha256"], None
    if args.best:
        if ckpt["best"] is None:
            raise TrainError(f"{ckpt_file.name} keeps no best epoch (no epoch finished, or it was written before "
                             "digitpad-train kept one): export its last epoch without --best")
        weights, best_epoch = ckpt["best"]["model"], ckpt["best"]["epoch"]
        weights_sha256 = checkpoint.weights_digest(weights)
    run = RunFiles.of(ckpt_file)
    out = Path(args.out) if args.out else (
        run.best_epoch_model(best_epoch) if args.best else run.model)
    if out.exists() and args.best:
        raise TrainError(f"{out} exists already; choose another --out")
    if out.exists():  # never replace another run's model with this one
        checkpoint.match_model(out, ckpt, ckpt_file)
    with finish.claim_out(out, resuming=ckpt_file):
        return _export_into(out, ckpt_file, ckpt, cfg, weights, weights_sha256, best_epoch, args, reporter)


def _export_into(out: Path, ckpt_file: Path, ckpt: dict, cfg: TrainConfig, weights: dict, weights_sha256: str,
                 best_epoch: int | None, args: argparse.Namespace, reporter: Reporter) -> int:
    """The export itself, once ``--out`` is held (``finish.claim_out``)."""
    from . import data, export, models

    _, test = data.load(cfg.dataset, args.data_dir or cfg.data_dir)
    import torch

    from . import calibrate, train

    net = models.for_config(cfg, like=weights)
    net.load_state_dict(weights)
    if cfg.classes is not None and test.classes != cfg.classes:
        raise TrainError(f"{ckpt_file.name} was trained on the classes {', '.join(cfg.classes)}; the data folder's "
                         f"pictures are {', '.join(test.classes or [])}")
    with train.StopFlag() as stop:
        metrics, probs = train.evaluate(net.eval(), torch.from_numpy(test.images.copy()),
                                        torch.from_numpy(test.labels), full_scale=test.full_scale)
        rule = calibrate.calibrate(net, cfg, test.images, reporter.log)
        history = ckpt["history"]
        warnings = finish.run_warnings(history)
        if ckpt["legacy"]:
            warnings.append(f"{ckpt_file.name} was written before checkpoints had run ids and checksums: "
                            "its run is unknown and its weights could not be verified")
        meta = export.export(net, out, arch=cfg.arch, dataset=cfg.dataset, metrics=metrics, parity_images=test.images,
                             parity_reference=probs, parity_scale=test.full_scale,
                             training={"config": cfg.to_dict(), "seconds": round(ckpt["elapsed_s"], 2),
                                       "epochs_run": ckpt["epoch"], "history": history, "device": "cpu",
                                       "partial": ckpt["step_in_epoch"] > 0 or ckpt["epoch"] < cfg.epochs,
                                       "run_id": ckpt["run_id"], "weights_sha256": weights_sha256,
                                       "parent": ckpt["parent"], "warnings": warnings,
                                       "exported_epoch": best_epoch or ckpt["epoch"]}, not_digit=rule,
                             classes=cfg.classes)
        finish.finish_export(reporter, out, ckpt_file, meta, None, warnings)
    if stop.requested:
        reporter.log("stop requested during the export: the model was written first")
    reporter.emit("done", status="completed", path=str(out), warnings=warnings)
    return 0


def _progress_mode(argv: list[str]) -> str:
    """The --progress value, read before argparse so that even its errors reach the app as events."""
    for i, a in enumerate(argv):
        value = a.split("=", 1)[1] if a.startswith("--progress=") else argv[i + 1] if (
            a == "--progress" and i + 1 < len(argv)) else None
        if value in ("bar", "jsonl", "none"):
            return value
    return "bar"


def _list_presets() -> None:
    for name, (text, overrides) in PRESETS.items():
        cfg = preset(name)
        per_epoch = samples_per_epoch(cfg)
        total = f"{cfg.epochs} x {per_epoch:,} = {cfg.epochs * per_epoch:,} samples" if per_epoch else ""
        print(f"{name:10s} {text}\n{'':10s} {total}\n{'':10s} {overrides}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reporter = Reporter(_progress_mode(argv))
    # Until the loop installs its own handler: a SIGTERM while starting is an error event, not a silent death.
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        if argv and argv[0] == "export":
            return run_export(argv[1:], reporter)
        args = _parser().parse_args(argv)
        reporter.mode = args.progress
        if args.list_presets:
            _list_presets()
            return 0
        if args.list_archs:
            from .models import describe_archs

            for a in describe_archs():
                print(f"{a['arch']:10s} {a['params']:>9,d} params  {a['description']}")
            return 0
        return run_training(args, reporter)
    except TrainError as e:
        return _fail(reporter, str(e), 2, e.event())
    except KeyboardInterrupt:
        return _fail(reporter, "interrupted", 130)
    except Exception as e:  # noqa: BLE001 - an engine bug or an OS failure: still one event and a non-zero exit
        if is_allocation_failure(e):
            return _fail(reporter, allocation_message(e), 1)
        reporter.close()
        reporter.emit("error", message=f"{type(e).__name__}: {e}")
        import traceback

        traceback.print_exc()
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _fail(reporter: Reporter, message: str, code: int, extra: dict | None = None) -> int:
    reporter.close()
    reporter.emit("error", message=message, **(extra or {}))
    print(f"digitpad-train: {'error: ' if code != 130 else ''}{message}", file=sys.stderr)
    return code


WAIT_FOR_ARGS = "--wait-for-args"


def wait_for_args() -> list[str] | None:
    """A warm engine (the app starts one while its Train tab is open): import torch and what a
    run needs first, then read the run's arguments as one JSON list on stdin. ``import torch``
    and torch._dynamo took 2.4-4.4 s here, which the user would otherwise wait for after Start.
    None when stdin closes first (the app went away): nothing to do."""
    import onnx  # noqa: F401 - the export's modules too, as _import_torch does
    import torch._dynamo  # noqa: F401

    from . import checkpoint, data, export, train  # noqa: F401

    print(json.dumps({"event": "warm"}), flush=True)   # ready: the app times Start from here
    line = sys.stdin.readline()
    if not line.strip():
        return None
    try:
        argv = json.loads(line)
    except json.JSONDecodeError:
        argv = None
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise TrainError(f"{WAIT_FOR_ARGS} reads one JSON list of strings on stdin (got {line.strip()[:60]!r})")
    return argv


def run() -> None:
    """The console script: ``main``, then exit without the interpreter's teardown. Unloading
    torch and torch._dynamo took 0.5-1.0 s after the last event here, for nothing: every file
    is written, synced and closed by then, and the app waits for the process to end."""
    argv = None
    if sys.argv[1:] == [WAIT_FOR_ARGS]:
        try:
            argv = wait_for_args()
        except TrainError as e:
            os._exit(_fail(Reporter("jsonl"), str(e), 2))
        if argv is None:
            os._exit(0)
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
