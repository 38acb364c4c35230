#!/usr/bin/env bash
# The README's first command: install what is needed, build, and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/build.sh
# The GPU backend libraries of the build tree sit beside glmchat-cli (installed, they are in lib/glmchat).
export GLMCHAT_BACKEND_DIR="${GLMCHAT_BACKEND_DIR:-$PWD/build/engine/cli}"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: starting the app under Xvfb (use a desktop session to see it)."
  exec xvfb-run -a -s "-screen 0 1280x800x24" ./build/app/glmchat "$@"
fi
exec ./build/app/glmchat "$@"
