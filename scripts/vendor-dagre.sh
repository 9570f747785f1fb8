#!/bin/sh
# Refresh the vendored graph layout library (api/ui/static/vendor/, see its README.md):
#   scripts/vendor-dagre.sh 3.1.4
# Takes the package's own built file from the npm registry with `npm pack` (no CDN at run time),
# drops the source-map comment (the map is not vendored) and prints the sha256 for the README.
set -eu
version="${1:?usage: scripts/vendor-dagre.sh VERSION}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/api/ui/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --quiet "@dagrejs/dagre@$version" >/dev/null 2>&1 && tar xzf ./*.tgz)
grep -v '^//# sourceMappingURL=' "$work/package/dist/dagre.min.js" > "$dest/dagre.min.js"
cp "$work/package/dist/dagre.min.js.LEGAL.txt" "$dest/dagre.min.js.LEGAL.txt"
cp "$work/package/LICENSE" "$dest/dagre.LICENSE"
sha256sum "$dest/dagre.min.js"
