#!/usr/bin/env bash
# A/B of decode speed on the GPU machine, both trees built in the same call: tree A is a `git archive` of a
# revision taken on the development machine (the GPU machine has no git), tree B the working tree. Runs
# `selftest --backend cuda` on B, then alternates A and B over the weight formats, and writes everything it
# prints into OUTDIR/summary.txt (one file: the device tool returns only a limited number of files).
#   here:   git archive HEAD > abtree.tar          (untracked, so it travels with the working tree)
#   there:  tools/device/ab.sh OUTDIR [ROUNDS]
# Environment: AB_WEIGHTS (default "int4 int8"), AB_KV (bf16), AB_CTX (4096), AB_CONTEXTS (1024,1024,1024: each
# a separate sample after the bench's warm-up tokens), AB_GENERATE (64), AB_ENV_A / AB_ENV_B (extra environment
# for one side, e.g. AB_ENV_B="GLMCHAT_CUDA_DECODE_CARVEOUT=-1" to compare a switch within one tree, with
# AB_SAME_TREE=1 to skip building A).
set -uo pipefail
OUT=${1:?usage: tools/device/ab.sh OUTDIR [ROUNDS]}
ROUNDS=${2:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STAGES=build
source "$ROOT/tools/device/common.sh"
S=$OUT/summary.txt
A=$WORK/treeA
if [ "${AB_SAME_TREE:-0}" = 1 ]; then
  bash "$ROOT/tools/device/run.sh" "$OUT/b" build > /dev/null || { tail -20 "$OUT/b/build.log"; exit 1; }
  CLIA=("${CLI[@]}")
else
  [ -f "$ROOT/abtree.tar" ] || { echo "abtree.tar missing: git archive REV > abtree.tar first" | tee -a "$S"; exit 1; }
  rm -rf "$A" && mkdir -p "$A" && tar -xf "$ROOT/abtree.tar" -C "$A"
  [ -d "$ROOT/.debs" ] && ln -s "$ROOT/.debs" "$A/.debs"
  (GLMCHAT_DEVICE_BUILD=$A/build bash "$A/tools/device/run.sh" "$OUT/a" build > /dev/null 2>&1) &
  bash "$ROOT/tools/device/run.sh" "$OUT/b" build > /dev/null || { tail -20 "$OUT/b/build.log"; exit 1; }
  wait || true
  [ -x "$A/build/engine/cli/glmchat-cli" ] || { echo "tree A did not build" | tee -a "$S"; tail -20 "$OUT/a/build.log"; exit 1; }
  CLIA=("${DEVENV[@]}" "$A/build/engine/cli/glmchat-cli")
fi
nvidia-smi --query-gpu=name --format=csv,noheader | tee -a "$S"
"${CLI[@]}" selftest --backend cuda > "$OUT/selftest.txt" 2>&1
grep -E "FAIL|checks," "$OUT/selftest.txt" | tail -6 | tee -a "$S"

# Decode tokens/s of every context in a bench JSON, space-separated as CONTEXT:TOKENS_PER_S.
decodeFigures() {
  python3 - "$1" <<'PY'
import json, sys
out = []
def walk(x):
    if isinstance(x, dict):
        if 'decode_tokens_per_s' in x:
            out.append('%d:%.1f' % (x['context'], x['decode_tokens_per_s']))
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
try:
    walk(json.load(open(sys.argv[1])))
except Exception as e:
    out.append('no result (%s)' % e)
print(' '.join(out))
PY
}
bench() {  # SIDE WEIGHTS
  local side=$1 w=$2 extra cli
  if [ "$side" = A ]; then cli=("${CLIA[@]}"); extra=${AB_ENV_A:-}; else cli=("${CLI[@]}"); extra=${AB_ENV_B:-}; fi
  rm -f "$OUT/r.json"
  env $extra "${cli[@]}" bench --backend cuda --random-weights glm-4-9b --weights "$w" --kv-cache "${AB_KV:-bf16}" \
    --ctx "${AB_CTX:-4096}" --contexts "${AB_CONTEXTS:-1024,1024,1024}" -g "${AB_GENERATE:-64}" -q \
    -o "$OUT/r.json" > "$OUT/r.log" 2>&1
  echo "round $r $side $w: $(decodeFigures "$OUT/r.json") $(grep -i error "$OUT/r.log" | head -2)" | tee -a "$S"
}
for ((r = 1; r <= ROUNDS; ++r)); do
  for w in ${AB_WEIGHTS:-int4 int8}; do
    bench A "$w"
    bench B "$w"
  done
done
