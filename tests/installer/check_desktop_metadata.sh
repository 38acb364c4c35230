#!/usr/bin/env bash
# Validates the configured .desktop entry and AppStream metainfo; the release in the metainfo must be
# the project's version. Usage: check_desktop_metadata.sh BUILD/installer VERSION
set -euo pipefail
dir=$1 version=$2
desktop=$(ls "$dir"/*.desktop) metainfo=$(ls "$dir"/*.metainfo.xml)
desktop-file-validate "$desktop"
appstreamcli validate --no-net "$metainfo"
grep -q "<release version=\"$version\"" "$metainfo" || { echo "metainfo has no <release> for $version"; exit 1; }
id=$(basename "$desktop" .desktop)
grep -q "<launchable type=\"desktop-id\">$id.desktop</launchable>" "$metainfo" || { echo "metainfo does not launch $id.desktop"; exit 1; }
grep -q "^Icon=$id$" "$desktop" || { echo "$desktop: Icon= is not $id"; exit 1; }
echo "desktop entry and metainfo valid ($id, $version)"
