#!/usr/bin/env bash
# What a change to a person's records costs once a large record is stored
# (issue 19, finding 3), for one or more `sextant` binaries in the same run:
#   scripts/records-bench.sh OLD_BIN NEW_BIN
# For each binary: a fresh key, SQLite database and server on loopback; one
# account uploads a gzip of 30 MiB of clinic-note text, then a 45-byte
# note, then deletes that note. Prints the wall time of each request and the
# server's peak memory. Needs SEXTANT_DATA (default ../shared/data) to build
# the knowledge base once.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${SEXTANT_DATA:-$PWD/../shared/data}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sextant-records-bench.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
first=$1
"$first" --data "$DATA" --kb "$TMP/kb" ingest -q >/dev/null 2>&1
python3 - "$TMP" <<'PY'
import gzip, sys
line = b"Progress note: invasive ductal carcinoma of the left breast, on tamoxifen 20 mg daily.\n"
with gzip.open(f"{sys.argv[1]}/big.txt.gz", "wb", compresslevel=9) as f:
    f.write(line * (30 * 1024 * 1024 // len(line)))
open(f"{sys.argv[1]}/small.txt", "wb").write(b"Note: ER positive, HER2 negative. Stage IIA.\n")
PY
for bin in "$@"; do
  d="$TMP/$(basename "$(dirname "$(dirname "$(dirname "$bin")")")")-$RANDOM"
  mkdir -p "$d"
  "$bin" init --key-file "$d/key" --database-url "sqlite://$d/db.sqlite" >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  "$bin" --kb "$TMP/kb" serve --addr "127.0.0.1:$port" --insecure-cookies \
    --key-file "$d/key" --database-url "sqlite://$d/db.sqlite" >"$d/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do curl -fs -m 2 "$url/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  creds='{"email":"ann@example.org","password":"correct horse battery staple"}'
  curl -s -o /dev/null -H 'content-type: application/json' -d "$creds" "$url/api/account/register"
  csrf=$(curl -s -c "$d/jar" -H 'content-type: application/json' -d "$creds" "$url/api/account/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
  up() { curl -s -m 120 -o "$d/out" -w '%{http_code} %{time_total}' -b "$d/jar" -H "x-csrf-token: $csrf" -F "file=@$1" "$url/api/records"; }
  big=$(up "$TMP/big.txt.gz")
  small=$(up "$TMP/small.txt")
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"][0]["id"])' "$d/out")
  del=$(curl -s -m 120 -o /dev/null -w '%{http_code} %{time_total}' -X DELETE -b "$d/jar" -H "x-csrf-token: $csrf" "$url/api/records/$id")
  peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
  printf '%s\n  upload 30 MiB gzip: %s s\n  upload 45-byte note: %s s\n  delete that note: %s s\n  peak RSS %s MiB\n' \
    "$bin" "$big" "$small" "$del" "$peak"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
