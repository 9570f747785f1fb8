#!/bin/sh
# Refresh the vendored uPlot build: npm pack <version>, verify the tarball against the integrity the
# registry states for it, keep only dist/uPlot.iife.min.js, dist/uPlot.min.css and LICENSE.
# Usage: scripts/vendor-ui.sh VERSION DEST_DIR
set -eu
version=$1
dest=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$version" >/dev/null)
tarball="$work/uplot-$version.tgz"
expected=$(npm view "uplot@$version" dist.integrity)
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$expected" != "$actual" ]; then
    echo "uplot-$version.tgz does not match the registry's integrity ($expected): not copied" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" "$dest/"
cp "$work/package/LICENSE" "$dest/uPlot.LICENSE"
(cd "$dest" && sha256sum uPlot.iife.min.js uPlot.min.css uPlot.LICENSE > SHA256SUMS)
echo "uPlot $version copied to $dest (update the version in $dest/README.md)"
