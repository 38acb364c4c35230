# Sourced by tools/device/run.sh and vulkan.sh: the Debian development packages brought in .debs/ (carry
# it with the device tool) unpacked into /opt/dev, never into / (they can break the system there), and
# DEVENV, the `env ...` prefix that makes commands find them. Expects ROOT (the checkout). DEVENV stays
# empty when there is no .debs/ folder.
DEVENV=()
if [ -d "$ROOT/.debs" ]; then
  mkdir -p /opt/dev
  for d in "$ROOT"/.debs/*.deb; do dpkg -x "$d" /opt/dev; done
  DEVENV=(env PATH=/opt/dev/usr/bin:$PATH LD_LIBRARY_PATH=/opt/dev/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
          PKG_CONFIG_SYSROOT_DIR=/opt/dev
          PKG_CONFIG_PATH=/opt/dev/usr/lib/x86_64-linux-gnu/pkgconfig:/opt/dev/usr/share/pkgconfig)
fi
