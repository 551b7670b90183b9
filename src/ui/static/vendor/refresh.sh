#!/usr/bin/env bash
# Refetches the console's vendored files at the versions pinned below with `npm pack`
# (only the registry tarball is read: nothing is installed, no Node at build or run
# time), copies the built files and their licences here, and rewrites VENDORED.md with
# each file's sha256. Run it by hand after changing a version; commit what it writes.
set -euo pipefail
cd "$(dirname "$0")"

HTMX=2.0.11
UPLOT=1.6.32
WORLD_ATLAS=2.0.2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # package version -> unpacked directory
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null && mkdir -p "$1" &&
        tar -xzf "$(ls -t ./*.tgz | head -1)" -C "$1" && rm ./*.tgz)
    echo "$work/$1/package"
}

htmx=$(fetch htmx.org "$HTMX")
cp "$htmx/dist/htmx.min.js" htmx.min.js
cp "$htmx/LICENSE" LICENSE.htmx

uplot=$(fetch uplot "$UPLOT")
cp "$uplot/dist/uPlot.iife.min.js" uPlot.iife.min.js
cp "$uplot/dist/uPlot.min.css" uPlot.min.css
cp "$uplot/LICENSE" LICENSE.uplot

# The world map's country shapes (Natural Earth 110 m, public domain, as TopoJSON by
# world-atlas, ISC), converted once into SVG path data per ISO alpha-2 by world_map.py
# (offline, from the committed input).
atlas=$(fetch world-atlas "$WORLD_ATLAS")
cp "$atlas/countries-110m.json" countries-110m.json
cp "$atlas/LICENSE" LICENSE.world-atlas
python3 world_map.py countries-110m.json > world-110m.tsv

row() { # file package version licence
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(sha256sum "$1" | cut -d' ' -f1)" "$4"
}
{
    echo "# Vendored files of the console"
    echo
    echo "Embedded in the binary (src/ui/assets.rs). Refresh with \`refresh.sh\` (npm pack of the"
    echo "pinned version); never edit these files by hand. world-110m.tsv (the map's SVG paths,"
    echo "embedded) is made from countries-110m.json (not embedded) by world_map.py."
    echo
    echo "| file | package | version | sha256 | licence |"
    echo "|---|---|---|---|---|"
    row htmx.min.js htmx.org "$HTMX" "0BSD (LICENSE.htmx)"
    row uPlot.iife.min.js uplot "$UPLOT" "MIT (LICENSE.uplot)"
    row uPlot.min.css uplot "$UPLOT" "MIT (LICENSE.uplot)"
    row countries-110m.json world-atlas "$WORLD_ATLAS" "ISC (LICENSE.world-atlas); shapes: Natural Earth, public domain"
    row world-110m.tsv "world-atlas (world_map.py)" "$WORLD_ATLAS" "as countries-110m.json"
} > VENDORED.md
cat VENDORED.md
