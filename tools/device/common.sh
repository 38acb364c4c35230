# Sourced by tools/device/run.sh and vulkan.sh after they set ROOT (the checkout), OUT (the output folder)
# and STAGES (the stages asked for). Sets BUILD and WORK (GLMCHAT_DEVICE_BUILD / GLMCHAT_DEVICE_WORK
# override them), has STAGE and log MESSAGE, and DEVENV: the Debian development packages brought in .debs/
# (carry it with the device tool) unpacked into /opt/dev, never into / (they can break the system there),
# as an `env ...` prefix that makes commands find them; DEVENV stays empty without .debs/. CLI runs the
# built glmchat-cli with it.
BUILD=${GLMCHAT_DEVICE_BUILD:-$ROOT/build-device}
WORK=${GLMCHAT_DEVICE_WORK:-/tmp/glmchat-device}
mkdir -p "$OUT" "$WORK"
has() { [[ " $STAGES " == *" $1 "* ]]; }
log() { echo "== $(date +%T) $*" | tee -a "$OUT/run.log"; }

DEVENV=()
if [ -d "$ROOT/.debs" ]; then
  mkdir -p /opt/dev
  for d in "$ROOT"/.debs/*.deb; do dpkg -x "$d" /opt/dev; done
  DEVENV=(env PATH=/opt/dev/usr/bin:$PATH LD_LIBRARY_PATH=/opt/dev/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
          PKG_CONFIG_SYSROOT_DIR=/opt/dev
          PKG_CONFIG_PATH=/opt/dev/usr/lib/x86_64-linux-gnu/pkgconfig:/opt/dev/usr/share/pkgconfig)
fi
CLI=("${DEVENV[@]}" "$BUILD/engine/cli/glmchat-cli")
