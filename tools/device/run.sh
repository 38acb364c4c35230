#!/usr/bin/env bash
# The CUDA backend on the GPU machine, in one script: configure + build (sm_90, engine and CLI only),
# selftest, kernel benchmarks, model benchmarks at 1K/32K/128K, the peers (PyTorch SDPA flash and
# cuDNN, transformers prefill) and the long-context parity against transformers.
#   tools/device/run.sh OUTDIR [STAGE...]    STAGE: build selftest kernels bench ncu peers parity (default: all
#   but ncu: per-kernel times of a decode step and the decode attention kernels under Nsight Compute)
# Writes logs and JSON into OUTDIR and ends with a short table (tools/device/summary.py).
set -uo pipefail
OUT=${1:?usage: tools/device/run.sh OUTDIR [build selftest kernels bench peers parity]}
shift
STAGES=${*:-build selftest kernels bench peers parity}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# BUILD, WORK, has, log; the development packages the machine may lack (.debs/ -> /opt/dev), DEVENV, CLI.
source "$ROOT/tools/device/common.sh"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv | tee "$OUT/gpu.txt"

if has build; then
  log build
  NVCC=/usr/local/cuda/bin/nvcc; [ -x "$NVCC" ] || NVCC=$(command -v nvcc)
  "${DEVENV[@]}" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGLMCHAT_WITH_APP=OFF \
    -DGLMCHAT_WITH_VULKAN=OFF -DGLMCHAT_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DGLMCHAT_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH=/opt/dev/usr > "$OUT/build.log" 2>&1 &&
  "${DEVENV[@]}" ninja -C "$BUILD" glmchat-cli glmchat-cuda-bench >> "$OUT/build.log" 2>&1
  rc=$?; tail -5 "$OUT/build.log"; [ $rc -eq 0 ] || { echo "BUILD FAILED"; grep -E "error" "$OUT/build.log" | head -30; exit 1; }
fi

if has selftest; then
  log selftest
  "${CLI[@]}" selftest --backend cuda 2>&1 | tee "$OUT/selftest.txt" | grep -E "FAIL|selftest on" ; true
fi

if has kernels; then
  log kernels
  "${DEVENV[@]}" "$BUILD/engine/cli/glmchat-cuda-bench" 2>&1 | tee "$OUT/kernels.jsonl"
fi

if has bench; then
  log bench
  # Counted as llama-bench: prefill = one pass over the prompt with logits for the last position;
  # decode = the forward passes of the generated tokens only.
  "${CLI[@]}" bench --backend cuda --random-weights glm-4-9b --ctx 131072 --contexts 1024,32768,131024 -g 32 \
    -o "$OUT/bench.json" 2>&1 | grep -v "^loading" | tail -25
  "${CLI[@]}" info --random-weights glm-4-9b --ctx 131072 --kv-cache bf16 --json > "$OUT/plan_128k.json" 2>&1
fi

if has ncu; then
  log ncu
  # Kernel times of one decode step at 1K (ncu serialises kernels: the sum, against the step's wall time,
  # is what launch gaps cost) and the decode attention kernels at 128K with stall reasons.
  NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  "${DEVENV[@]}" "$NCU" --clock-control none --cache-control none --graph-profiling node \
    --metrics gpu__time_duration.sum --csv --page raw --log-file "$OUT/ncu_step_1k.csv" \
    "$BUILD/engine/cli/glmchat-cli" bench --backend cuda --random-weights glm-4-9b --contexts 1024 -g 3 -q > /dev/null 2>&1
  python3 "$ROOT/tools/device/ncu_step.py" "$OUT/ncu_step_1k.csv" 2>&1 | tee "$OUT/ncu_step_1k.txt"
  "${DEVENV[@]}" "$NCU" --clock-control none --kernel-name regex:decode --launch-skip 208 --launch-count 2 \
    --section SpeedOfLight --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
    --section LaunchStats --log-file "$OUT/ncu_decode_attention_128k.txt" "$BUILD/engine/cli/glmchat-cuda-bench" > /dev/null 2>&1
  grep -E "Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Stall|Warp Cycles|decode" \
    "$OUT/ncu_decode_attention_128k.txt" | head -40
fi

if has peers; then
  log peers
  python3 "$ROOT/tools/device/peers.py" --out "$OUT/peers.json" 2>&1 | tail -20
fi

if has parity; then
  log parity
  python3 "$ROOT/tools/reference/long_context_parity.py" make --dir "$WORK/parity" 2>&1 | tail -12
  for n in 32768 131072; do
    "${CLI[@]}" logits --backend cuda -m "$WORK/parity/model" --ids "$WORK/parity/ids_$n.txt" --positions last \
      --ctx $n -o "$WORK/parity/ours_$n.json" 2>&1 | grep -v "^loading" | tail -3
  done
  python3 "$ROOT/tools/reference/long_context_parity.py" compare --dir "$WORK/parity" --out "$OUT/parity.json" 2>&1 | tail -8
fi

python3 "$ROOT/tools/device/summary.py" "$OUT" 2>&1 | tee "$OUT/summary.txt"
