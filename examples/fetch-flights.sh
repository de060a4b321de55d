#!/usr/bin/env bash
# Fetches the flights benchmark data (3 M rows) from the npm registry's vega-datasets package:
# examples/data/flights-3m.parquet (git-ignored). Needs npm; run once before the flights benchmark.
set -euo pipefail
cd "$(dirname "$0")"
out=data/flights-3m.parquet
if [ -f "$out" ]; then
  echo "$out is already here"
  exit 0
fi
mkdir -p data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent vega-datasets@3.2.1 >/dev/null)
tar -xzf "$tmp"/vega-datasets-3.2.1.tgz -C "$tmp" package/data/flights-3m.parquet
mv "$tmp"/package/data/flights-3m.parquet "$out"
echo "fetched $out ($(du -h "$out" | cut -f1))"
