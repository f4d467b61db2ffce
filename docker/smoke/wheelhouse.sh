#!/usr/bin/env bash
# Every wheel the CPU image installs, into docker/wheelhouse/, so that
# `docker build --build-arg OFFLINE=1` needs no package index (build containers here have no
# network). Uses this machine's pip configuration (its index and local wheels, e.g. the torch
# CPU wheel), so the host must be the image's platform (Linux x86_64, CPython 3.11). Adds moto's
# server (the S3 stand-in) and setuptools (pip builds `.` with it).
# Usage (from the repository root): docker/smoke/wheelhouse.sh [PYTHON]
set -euo pipefail
PY=${1:-.venv/bin/python}
OUT=docker/wheelhouse
mkdir -p "$OUT"
# Up to date when filled after the last change of what the image installs.
if [ -e "$OUT/.complete" ] && [ "$OUT/.complete" -nt pyproject.toml ] \
   && [ "$OUT/.complete" -nt docker/requirements-deploy.txt ]; then
  echo "wheelhouse up to date"; exit 0
fi
REQS=$(mktemp)
"$PY" - "$REQS" <<'PYEOF'
import sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
open(sys.argv[1], "w").write("\n".join(deps) + "\n")
PYEOF
# --no-input and stdin from /dev/null: in a background job a credentials prompt would stop pip
# (SIGTTIN) instead of failing.
"$PY" -m pip download --quiet --no-input --progress-bar off --dest "$OUT" -r "$REQS" -r docker/requirements-deploy.txt \
  "torch==2.13.0" "moto[server,s3]==5.2.6" "setuptools>=77" wheel </dev/null 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
rm -f "$REQS"
touch "$OUT/.complete"
du -sh "$OUT"
