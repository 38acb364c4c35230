#!/usr/bin/env bash
# The README's second command: install what is needed, build, and run every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
npm ci --prefix tests --no-audit --no-fund --loglevel=error
bash scripts/build.sh -DGLMCHAT_BUILD_TESTS=ON
export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
ctest --test-dir build --output-on-failure -j "${GLMCHAT_JOBS:-$(nproc)}" --timeout 900
