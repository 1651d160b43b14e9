#!/usr/bin/env bash
# The engine's GPU path on a machine with CUDA (issue 25), unattended, in about 3-5 minutes (each step
# is capped; the whole stays under 8). Not a test: the test suite never needs a GPU (the same functions
# run on CPUs in tests/training/test_device_path.py and test_distributed.py). From the project root:
#
#     scripts/gpu_check.sh                          # prints the figures; exit 1 if a step failed
#     DATA_DIR=/data PYTHON=/opt/venv/bin/python scripts/gpu_check.sh
#
# 1. --preset fast to 99.0% MNIST test accuracy with --device cuda, bfloat16 autocast, channels-last
#    (the engine's layout everywhere) and the data on the GPU: whole command, median of 3, and one fp32.
# 2. The CIFAR-10 presets' epoch time on this GPU (cifar10: 2 of its 7 epochs; seed003: 2 of its 100).
# 3. torchrun: 2 processes with NCCL when there are 2+ GPUs, else 1 process forced through the same
#    data-parallel path (DistributedDataParallel over NCCL, the votes over gloo).
#
# Data: DATA_DIR (default: ./shared/datasets, else ../shared/datasets) must hold MNIST/raw (11 MB;
# copy it there if the machine has no copy). CIFAR-10 is 236 MB as JPEGs: when DATA_DIR has neither
# cifar10/ nor cifar-10-batches-py/, step 2 trains on random pictures of CIFAR-10's size (50,000 +
# 10,000, written here): the epoch times hold, the accuracies mean nothing and are marked so.
# The user data folder is a fresh temporary one (DIGITPAD_DATA_DIR), so decoding is timed on a cold cache.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
WORK=$(mktemp -d)
export DIGITPAD_DATA_DIR=$WORK/userdata   # never the user's folder (and platformdirs is not needed)
trap 'rm -rf "$WORK"' EXIT
FAILED=()
step() { echo; echo "=== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"; }
run() { # run LIMIT_S NAME CMD...: a step that may fail without stopping the others
    local limit=$1 name=$2; shift 2
    timeout "$limit" "$@" || { echo "!!! $name failed or ran past ${limit}s (exit $?)"; FAILED+=("$name"); }
}

DATA_DIR=${DATA_DIR:-}
for d in "$DATA_DIR" shared/datasets ../shared/datasets; do
    if [ -n "$d" ] && [ -d "$d/MNIST/raw" ]; then DATA_DIR=$d; break; fi
done
if [ ! -d "$DATA_DIR/MNIST/raw" ]; then
    echo "no MNIST: set DATA_DIR to a folder holding MNIST/raw (the idx files, gzipped or not)"; exit 2
fi

step "machine"
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
NGPU=$("$PY" - <<'PY'
import torch
ok = torch.cuda.is_available()
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available {ok}", file=__import__("sys").stderr)
if ok:
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}",
              file=__import__("sys").stderr)
print(torch.cuda.device_count() if ok else 0)
PY
)
echo "GPUs: $NGPU; CPUs: $(nproc); data: $DATA_DIR"
if [ "${NGPU:-0}" -lt 1 ]; then echo "no CUDA GPU: nothing to check"; exit 2; fi

step "1. --preset fast to 99.0% on MNIST, --device cuda --precision bf16 (median of 3), then fp32 once"
run 240 "fast bf16" "$PY" tests/benchmarks/bench_time_to_accuracy.py --presets fast --repeat 3 --device cuda \
    --data-dir "$DATA_DIR" --flags "--precision bf16"
run 90 "fast fp32" "$PY" tests/benchmarks/bench_time_to_accuracy.py --presets fast --repeat 1 --device cuda \
    --data-dir "$DATA_DIR" --flags "--precision fp32"

step "2. CIFAR-10 presets' epoch time on the GPU"
CIFAR_DIR=$DATA_DIR
if [ ! -d "$DATA_DIR/cifar10" ] && [ ! -d "$DATA_DIR/cifar-10-batches-py" ]; then
    CIFAR_DIR=$WORK/cifar
    echo "no CIFAR-10 in $DATA_DIR: random pictures of its size (50,000 + 10,000); ACCURACIES MEAN NOTHING"
    "$PY" -c "import sys; sys.path.insert(0, 'tests/support'); from colour_data import write_cifar_batches; \
write_cifar_batches('$CIFAR_DIR', per_batch=10_000, n_test=10_000)"
fi
run 150 "cifar10 preset" "$PY" tests/benchmarks/bench_cifar10.py --preset cifar10 --data-dir "$CIFAR_DIR" \
    -- --device cuda --epochs 2
run 120 "seed003 preset" "$PY" tests/benchmarks/bench_cifar10.py --preset seed003 --data-dir "$CIFAR_DIR" \
    -- --device cuda --epochs 2

step "3. torchrun smoke"
if [ "$NGPU" -ge 2 ]; then
    echo "2 processes, one GPU each, NCCL"
    run 120 "torchrun 2 GPUs" "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 -m training \
        --preset fast --device cuda --precision bf16 --data-dir "$DATA_DIR" --out "$WORK/ddp/fast.onnx" --progress none
else
    echo "1 GPU: 1 process forced through the data-parallel path (DDP over NCCL, votes over gloo)"
    cat > "$WORK/one_rank.py" <<'PY'
import sys

from training import cli, distributed

# torchrun's world of one is a plain run; claim it is data-parallel, so Group starts NCCL and DDP wraps the net.
distributed.World.distributed = property(lambda self: True)
sys.exit(cli.main(sys.argv[1:]))
PY
    run 120 "torchrun 1 GPU NCCL" "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 "$WORK/one_rank.py" \
        --preset fast --device cuda --precision bf16 --limit 20000 --data-dir "$DATA_DIR" --out "$WORK/ddp/fast.onnx" \
        --progress none
fi
if [ -f "$WORK/ddp/fast.onnx" ]; then
    "$PY" - "$WORK/ddp/fast.onnx" <<'PY'
import sys

sys.path.insert(0, "tests/support")
from train_helpers import metadata

meta = metadata(sys.argv[1])
print(f"torchrun model: world_size {meta.training['world_size']}, device {meta.training['device']}, "
      f"precision {meta.training['precision']}, test accuracy {meta.metrics['test_accuracy']:.2%}, "
      f"{meta.training['seconds']} s")
PY
    ls "$WORK/ddp"
fi

echo
if [ ${#FAILED[@]} -eq 0 ]; then echo "gpu_check: every step ran"; else echo "gpu_check: FAILED: ${FAILED[*]}"; exit 1; fi
