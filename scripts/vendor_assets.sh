#!/usr/bin/env bash
# Vendors the scripts the site needs into _static/vendor/ so that no page asks a CDN for them.
# Sources: the npm registry (pinned versions). Idempotent: does nothing when already vendored.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX_VERSION=3.2.2
# Outside the book's _static/: Jupyter Book 1 would add every .js file there to every page.
dest=build/static/vendor/mathjax
if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$MATHJAX_VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to vendor MathJax: apt-get install -y npm" >&2; exit 1; }
mkdir -p build/npm
npm install --no-audit --no-fund --silent --no-save --prefix build/npm "mathjax@$MATHJAX_VERSION"
src=build/npm/node_modules/mathjax/es5
rm -rf "$dest"
mkdir -p "$dest"
# tex-chtml.js loads its fonts (output/), TeX extensions (input/) and menu/a11y parts on demand,
# relative to its own address; the speech engine (sre/) is left out (4 MB, not used).
cp -r "$src/tex-chtml.js" "$src/output" "$src/input" "$src/a11y" "$src/ui" "$src/adaptors" "$dest/"
echo "$MATHJAX_VERSION" > "$dest/.version"
echo "vendored MathJax $MATHJAX_VERSION into $dest"
