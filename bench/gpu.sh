#!/usr/bin/env bash
# Everything the GPU machine is for, in one short call (the device tool lends 15 minutes):
#   run(command="bash bench/gpu.sh", timeout_s=540)
# 1. the CPU-vs-CUDA agreement tests; 2. the engine benchmark on the GPU (grid papers/s);
# 3. the bulk and full profiles at the GPU chunk size (OCCLAB_GPU_CHUNK_SIZE); 4. when a
# PostgreSQL and Redis are reachable there, the service end to end with one `occlab worker --gpu`.
# Figures go to stdout and to $OUT (the device tool brings that folder back).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"
export OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
# The machine starts bare: the install is `make install` (torch==2.13.0: on Linux, PyPI's
# wheel of that version is a CUDA build).
[ -x .venv/bin/python ] || make install >"$OUT/install.log" 2>&1
PY=.venv/bin/python
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.__version__, torch.version.cuda)"
echo "== agreement: CPU vs CUDA"
timeout 120 .venv/bin/pytest tests/shared/engine/test_occlusion.py tests/shared/engine/test_pooling.py \
  -k cuda -q -p no:cacheprovider \
  | tee "$OUT/agreement.txt"
echo "== engine on the GPU"
timeout 180 $PY -m shared.cli bench --papers 512 --json-out "$OUT/engine.json" | tee "$OUT/engine.txt"
echo "== bulk and full profiles, GPU chunks"
CHUNK="$($PY -c 'from shared.config import load_settings; print(load_settings().gpu_chunk_size)')"
timeout 180 $PY bench/profile_bench.py --papers 1024 --device cuda --chunk "$CHUNK" \
  | tee "$OUT/profiles.txt"
if pg_isready -q -h 127.0.0.1 2>/dev/null && redis-cli ping >/dev/null 2>&1; then
  echo "== service end to end"
  timeout 240 $PY bench/service_bench.py --papers 2000 --concurrency 1 | tee "$OUT/service.txt"
else
  echo "== service end to end: skipped (no PostgreSQL/Redis on this machine)" | tee "$OUT/service.txt"
fi
