#!/usr/bin/env bash
# Installs everything GLM Chat needs to build, run and test on Debian 12 (run as root or with sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates \
  libgtest-dev nlohmann-json3-dev libpcre2-dev libfmt-dev libcli11-dev \
  libsentencepiece-dev sentencepiece \
  qt6-base-dev qt6-declarative-dev qt6-pdf-dev libqt6sql6-sqlite \
  qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools \
  qml6-module-qtqml qml6-module-qtqml-models qml6-module-qtqml-workerscript \
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts \
  qml6-module-qtquick-dialogs qml6-module-qtquick-templates qml6-module-qtquick-window \
  qml6-module-qttest \
  libvulkan-dev glslc spirv-tools vulkan-tools mesa-vulkan-drivers \
  libquazip1-qt6-dev qt6-5compat-dev \
  xvfb xauth fonts-wqy-microhei \
  debootstrap librsvg2-bin desktop-file-utils appstream >/dev/null
# (The last line is for packaging: a clean Debian root for the package test, the PNG icons from the
# SVG, and the .desktop / AppStream checks; tests/installer.)
# Node.js (for the test peers from npm): use the machine's if it has one, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "setup: Debian packages installed"
