#!/usr/bin/env bash
# The Vulkan backend on the GPU machine (NVIDIA's Vulkan driver), side by side with the CUDA backend of
# the same build: configure + build both (engine and CLI only), Vulkan selftest, operation benchmarks
# of both backends (bench-ops), model benchmarks of both at 1K and 32K, and last-position logits at
# 32K tokens of the 2-layer GLM-4-9B-shaped parity model from both backends (and transformers).
#   tools/device/vulkan.sh OUTDIR [STAGE...]   STAGE: build selftest ops bench profile parity (default: all
#                                               but profile)
# Needs .gl/ (libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2, unpacked into /) and
# .debs/ (libvulkan-dev glslc libshaderc1 and the other build packages, unpacked into /opt/dev).
set -uo pipefail
OUT=${1:?usage: tools/device/vulkan.sh OUTDIR [build selftest ops bench parity]}
shift
STAGES=${*:-build selftest ops bench parity}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# BUILD, WORK, has, log; the development packages (.debs/ -> /opt/dev), DEVENV, CLI.
source "$ROOT/tools/device/common.sh"
[ ${#DEVENV[@]} -gt 0 ] || { echo "vulkan.sh needs .debs/ (glslc, libvulkan-dev, ...): carry it"; exit 1; }
if [ -d "$ROOT/.gl" ] && [ ! -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
  for d in "$ROOT"/.gl/*.deb; do dpkg -x "$d" /; done
  ldconfig
fi

if has build; then
  log build
  NVCC=/usr/local/cuda/bin/nvcc; [ -x "$NVCC" ] || NVCC=$(command -v nvcc)
  "${DEVENV[@]}" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGLMCHAT_WITH_APP=OFF \
    -DGLMCHAT_WITH_VULKAN=ON -DGLMCHAT_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DGLMCHAT_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH=/opt/dev/usr -DVulkan_INCLUDE_DIR=/opt/dev/usr/include \
    -DVulkan_LIBRARY=/usr/lib/x86_64-linux-gnu/libvulkan.so.1 -DVulkan_GLSLC_EXECUTABLE=/opt/dev/usr/bin/glslc \
    > "$OUT/build.log" 2>&1 &&
  "${DEVENV[@]}" ninja -C "$BUILD" glmchat-cli glmchat-backend-vulkan glmchat-backend-cuda >> "$OUT/build.log" 2>&1
  rc=$?; tail -3 "$OUT/build.log"; grep -E "Vulkan backend|GLM Chat:" "$OUT/build.log"
  [ $rc -eq 0 ] || { echo "BUILD FAILED"; grep -E "error" "$OUT/build.log" | head -30; exit 1; }
  "${CLI[@]}" devices | tee "$OUT/devices.txt"
fi

if has selftest; then
  log selftest
  timeout 300 "${CLI[@]}" selftest --backend vulkan --no-skip --seed 7 2>&1 | tee "$OUT/selftest_vulkan.txt" | grep -E "FAIL|selftest on"; true
fi

if has ops; then
  log ops
  for b in cuda vulkan; do
    timeout 200 "${CLI[@]}" bench-ops --backend $b -r 20 -o "$OUT/ops_$b.json" > "$OUT/ops_$b.log" 2>&1
    echo "$b rc=$?"; python3 -c "
import json,sys; j=json.load(open('$OUT/ops_$b.json'))
for o in j['ops']: print(f\"  $b {o['op']:18s} {o['shape']:28s} {o['ms']:9.3f} ms {o['TFLOPs']:7.1f} TFLOP/s {o['GBps']:7.0f} GB/s\")" 2>&1 | tail -14
  done
fi

if has bench; then
  log bench
  for b in cuda vulkan; do
    timeout 280 "${CLI[@]}" bench --backend $b --random-weights glm-4-9b --ctx 33000 --contexts 1024,32768 -g 32 \
      -o "$OUT/bench_$b.json" 2>&1 | grep -v "^loading" | tail -4
  done
fi

if has profile; then
  log profile
  # Every decode step recorded anew so each dispatch carries GPU timestamps (GLMCHAT_VULKAN_PROFILE).
  for n in 1024 32768; do
    GLMCHAT_VULKAN_NO_RECORD=1 GLMCHAT_VULKAN_PROFILE=1 timeout 200 "${CLI[@]}" bench --backend vulkan \
      --random-weights glm-4-9b --ctx 33000 --contexts $n -g 16 -o "$OUT/profile_bench_$n.json" 2> "$OUT/profile_$n.txt" >/dev/null
    grep -A14 "Vulkan profile" "$OUT/profile_$n.txt"
  done
fi

if has parity; then
  log parity
  [ -f "$WORK/parity/meta.json" ] || python3 "$ROOT/tools/reference/long_context_parity.py" make --dir "$WORK/parity" 2>&1 | tail -4
  for b in cuda vulkan; do
    timeout 200 "${CLI[@]}" logits --backend $b -m "$WORK/parity/model" --ids "$WORK/parity/ids_32768.txt" \
      --positions last --ctx 32768 -o "$WORK/parity/$b.json" 2>&1 | grep -v "^loading" | tail -2
  done
  python3 - "$WORK/parity" "$OUT/parity_vulkan.json" <<'PY'
import json, sys, torch
d, out = sys.argv[1], sys.argv[2]
vk = torch.tensor(json.load(open(f'{d}/vulkan.json'))['logits'][0], dtype=torch.float64)
cu = torch.tensor(json.load(open(f'{d}/cuda.json'))['logits'][0], dtype=torch.float64)
ref = torch.load(f'{d}/ref_32768.pt').double()
r = {'tokens': 32768, 'vulkan_vs_cuda_rel_error': float((vk - cu).norm() / cu.norm()),
     'top1_same': int(vk.argmax()) == int(cu.argmax()),
     'vulkan_vs_transformers_rel_error': float((vk - ref).norm() / ref.norm()),
     'cuda_vs_transformers_rel_error': float((cu - ref).norm() / ref.norm())}
print(json.dumps(r)); json.dump(r, open(out, 'w'), indent=1)
PY
fi
log done
