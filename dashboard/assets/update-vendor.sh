#!/bin/sh
# Reproduces dashboard/assets/vendor/ from the npm registry at the versions
# pinned in package-lock.json. Run it after changing package.json:
#   dashboard/assets/update-vendor.sh
# The files it copies are committed and embedded in the qscale binary, so the
# dashboard works offline and no build step is needed.
set -eu
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p vendor/uplot
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE vendor/uplot/
node -e 'process.stdout.write(require("./node_modules/uplot/package.json").version + "\n")' > vendor/uplot/VERSION
rm -rf node_modules
echo "vendor/uplot: uPlot $(cat vendor/uplot/VERSION)"
