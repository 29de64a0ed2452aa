#!/usr/bin/env bash
# The GPU check, ready for a CUDA machine (e.g. the device tool's H200), under 8 minutes:
#   1. the log-mel front-end on the device, 2. Keras vs plain torch training throughput (fp32, bf16),
#   3. two configurations trained at the `full` budget for a bounded time. See benchmarks/gpu_check.py.
#
# On a machine that has torch but not the rest (the device tool's image), carry wheels in .whl/ (Python 3.12):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
#       keras namex optree soundfile cffi pycparser soxr plotly narwhals ipywidgets anywidget
# and run with carry [".whl"]. Results: $OUT/gpu_check.json (or ./gpu_check.json).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"  # the device image's python3 holds torch; here: PYTHON=.venv/bin/python
if [ -d .whl ] && ! "$python" -c "import keras" 2>/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD:$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 KERAS_BACKEND=torch
export MDRBENCH_HOME="${MDRBENCH_HOME:-/tmp/mdrbench}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
out="${OUT:-.}/gpu_check.json"
timeout 460 "$python" benchmarks/gpu_check.py --out "$out" "$@"
