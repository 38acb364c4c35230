#!/usr/bin/env bash
# The Debian package from install to purge, in a clean Debian 12 root (README "Installing" does the same):
#  1. cpack in the build folder (the build must be complete; ctest runs after it)
#  2. a minimal bookworm root from the Debian mirror (debootstrap --variant=minbase), cached as a
#     tarball in BUILD/installer-test so reruns skip it; downloaded .debs are cached there too
#  3. apt-get install --no-install-recommends ./glmchat_*.deb inside it: the Depends alone must do
#  4. glmchat-cli --version, a greedy 8-token generation with the tiny fixture model, and the app
#     offscreen with --smoke (the whole QML scene), as an ordinary user; where the build made the
#     Vulkan backend package: installed too (its Depends bring the loader and Mesa's lavapipe), then
#     `glmchat-cli devices` and a generation with --backend vulkan from /usr/lib/glmchat
#  5. apt-get purge glmchat (and the Vulkan package): no file of the package, nothing named glmchat and no reference to it in
#     the desktop caches may remain outside /home; the user's data (made in step 4) must remain.
# Usage: debian_package_roundtrip.sh BUILD_DIR MODEL_DIR. Needs root; exits 77 (skipped) without it.
# Env: GLMCHAT_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
build=$(realpath "$1") model=$(realpath "$2")
mirror=${GLMCHAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (chroot, mounts)"; exit 77; fi
for tool in debootstrap cpack dpkg-deb chroot; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/setup-debian.sh installs it)"; exit 1; }
done

work=$build/installer-test
mkdir -p "$work/apt-archives"
root=$(mktemp -d "$work/root.XXXXXX")
t0=$SECONDS
step() { echo "== [$((SECONDS - t0)) s] $*"; }

cleanup() {
  local rc=$?
  # Unmount everything below the root (deepest first) before deleting it; never delete through a
  # live bind mount (--one-file-system guards that too).
  for m in $(findmnt -rn -o TARGET | grep -F "$root/" | sort -r); do umount "$m" || umount -l "$m" || true; done
  if findmnt -rn -o TARGET | grep -qF "$root/"; then
    echo "WARNING: $root still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  exit $rc
}
trap cleanup EXIT

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
as_user() { chroot --userspec=1500:1500 "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/tester \
  LANG=C.UTF-8 XDG_RUNTIME_DIR=/tmp/runtime-tester QT_QPA_PLATFORM=offscreen "$@"; }

# 1. Packages.
step "cpack in $build"
rm -f "$build"/packages/*.deb "$build"/packages/*.tar.gz
(cd "$build" && cpack >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
ls -l "$build"/packages/
deb=$(ls "$build"/packages/glmchat_*.deb)
dpkg-deb -f "$deb" Package Version Depends Recommends
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/glmchat ./usr/bin/glmchat-cli ./usr/share/applications/org.glmchat.GlmChat.desktop \
         ./usr/share/metainfo/org.glmchat.GlmChat.metainfo.xml \
         ./usr/share/icons/hicolor/scalable/apps/org.glmchat.GlmChat.svg \
         ./usr/share/icons/hicolor/48x48/apps/org.glmchat.GlmChat.png \
         ./usr/share/icons/hicolor/512x512/apps/org.glmchat.GlmChat.png; do
  grep -qx "$f" <<<"$contents" || { echo "$deb lacks $f"; exit 1; }
done
if grep -q 'glmchat/libglmchat-backend' <<<"$contents"; then echo "$deb must not carry a GPU backend"; exit 1; fi

# 2. A clean Debian 12.
tarball=$work/bookworm-minbase.tar
if [ -s "$tarball" ]; then
  step "unpacking the cached bookworm root"
  tar -xpf "$tarball" -C "$root"
else
  step "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  tar -cpf "$tarball.tmp" -C "$root" . && mv "$tarball.tmp" "$tarball"
fi
chmod 755 "$root"   # it is / for an ordinary user too (mktemp made it 0700, and so did the tarball)
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind "$work/apt-archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
in_root useradd -m -u 1500 -s /bin/sh tester
mkdir -p "$root/tmp/packages" "$root/home/tester/models" "$root/tmp/runtime-tester"
cp "$deb" "$root/tmp/packages/"
vkdeb=$(ls "$build"/packages/glmchat-backend-vulkan_*.deb 2>/dev/null || true)
[ -z "$vkdeb" ] || cp "$vkdeb" "$root/tmp/packages/"
cp -r "$model" "$root/home/tester/models/"
chown -R 1500:1500 "$root/home/tester/models" "$root/tmp/runtime-tester"
chmod 700 "$root/tmp/runtime-tester"

# 3. Install with apt, which must resolve every dependency from the Debian archive.
step "apt-get install ./$(basename "$deb")"
in_root apt-get -q update -o Acquire::Languages=none >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
(cd "$root/tmp/packages" && in_root sh -c 'cd /tmp/packages && apt-get install -y -q --no-install-recommends ./glmchat_*.deb') \
  >>"$work/apt.log" 2>&1 || { tail -40 "$work/apt.log"; exit 1; }
grep -E '^(Need to get|After this operation|[0-9]+ upgraded)' "$work/apt.log" || true
in_root dpkg -L glmchat | sort >"$work/installed-files.txt"

# 4. It runs.
step "glmchat-cli --version"
as_user glmchat-cli --version
step "glmchat-cli run (tiny model, 8 tokens, greedy)"
reply=$(as_user glmchat-cli run -m /home/tester/models/chatglm-f16 -p Hello -n 8 --greedy -q)
echo "reply: $reply"
step "glmchat --smoke (offscreen)"
as_user glmchat --smoke 2>&1 | tee "$work/smoke.log"
grep -q "QML scene loaded" "$work/smoke.log" || { echo "the app did not report its scene loaded"; exit 1; }
data="$root/home/tester/.local/share/GLM Chat"
[ -d "$data" ] || { echo "the app made no data folder at ${data#"$root"}"; exit 1; }
find "$data" -name conversations.sqlite | grep -q . || { echo "the app made no conversations.sqlite under ${data#"$root"}"; exit 1; }
# The Vulkan backend package, where the build made one: its Depends bring the loader and a driver
# (Mesa's lavapipe in a machine without a GPU), and the CLI then finds the library in /usr/lib/glmchat.
if [ -n "$vkdeb" ]; then
  step "apt-get install ./$(basename "$vkdeb")"
  in_root sh -c 'cd /tmp/packages && apt-get install -y -q --no-install-recommends ./glmchat-backend-vulkan_*.deb' \
    >>"$work/apt.log" 2>&1 || { tail -40 "$work/apt.log"; exit 1; }
  in_root dpkg -L glmchat-backend-vulkan | sort >>"$work/installed-files.txt"
  step "glmchat-cli devices; run --backend vulkan"
  as_user glmchat-cli devices | tee "$work/devices.txt"
  grep -q "^0: " "$work/devices.txt" || { echo "no Vulkan device listed"; exit 1; }
  as_user glmchat-cli run --backend vulkan -m /home/tester/models/chatglm-f16 -p Hello -n 8 --greedy >"$work/vk-run.txt" 2>&1 \
    || { cat "$work/vk-run.txt"; exit 1; }
  grep -q "Vulkan backend chosen: .*/usr/lib/glmchat/libglmchat-backend-vulkan.so" "$work/vk-run.txt" \
    || { cat "$work/vk-run.txt"; echo "the CLI did not use the installed Vulkan backend"; exit 1; }
fi
echo "keep me" >"$data/user-note.txt"
(cd "$data" && find . | sort) >"$work/user-data-before.txt"

# 5. Purge: nothing of ours left outside /home, the user's data untouched.
step "apt-get purge glmchat${vkdeb:+ glmchat-backend-vulkan}"
in_root apt-get purge -y -q glmchat ${vkdeb:+glmchat-backend-vulkan} >>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; exit 1; }
left=$(while read -r f; do [ -f "$root$f" ] || [ -L "$root$f" ] && echo "$f"; done <"$work/installed-files.txt" || true)
[ -z "$left" ] || { echo "files of the package left after purge:"; echo "$left"; exit 1; }
named=$(cd "$root" && find . -xdev \( -path ./home -o -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \) -prune \
  -o -iname '*glmchat*' -print)
[ -z "$named" ] || { echo "left after purge:"; echo "$named"; exit 1; }
refs=$(grep -rIl -i glmchat "$root/usr/share/applications" "$root/usr/share/icons" "$root/usr/share/metainfo" \
  "$root/usr/share/mime" "$root/etc" "$root/var/lib/dpkg/info" 2>/dev/null || true)
[ -z "$refs" ] || { echo "references to glmchat left after purge:"; echo "$refs"; exit 1; }
(cd "$data" && find . | sort) | diff "$work/user-data-before.txt" - || { echo "the user's data changed on purge"; exit 1; }
grep -qx "keep me" "$data/user-note.txt"
step "passed: installed, ran, purged; the user's data kept ($(wc -l <"$work/user-data-before.txt") paths)"
