#!/usr/bin/env bash
# Installs what the notebooks module's test phase needs to execute the Jupyter notebook headlessly:
# Debian's jupyter-nbconvert and python3-nbclient (and jupyter-client). Idempotent: does nothing
# when jupyter-nbconvert is already there. Needs root (CI runs as root) and Debian's apt.
set -euo pipefail
if command -v jupyter-nbconvert >/dev/null 2>&1 && /usr/bin/python3 -c 'import nbclient' 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "jupyter-nbconvert is missing; install Debian's jupyter-nbconvert and python3-nbclient" \
    "(apt-get install jupyter-nbconvert python3-nbclient jupyter-client) as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      jupyter-nbconvert python3-nbclient jupyter-client >/dev/null; then
    exit 0
  fi
  echo "apt-get failed (attempt $attempt); retrying" >&2
  sleep 10
done
exit 1
