#!/usr/bin/env bash
# Live attacks on a real server on loopback (issue 19): each check is an
# attack the security review ran by hand, repeated with curl against
# `sextant serve` with a fresh key and SQLite database. Bounded in time
# (each curl has a timeout; the whole script takes under a minute).
#
#   scripts/attack.sh              # builds the binary if it is missing
#
# Checks:
#   two accounts: B cannot list, read or delete A's record (404, never A's bytes)
#   CSRF: a state change without the session's token is refused (403)
#   stale session: after logout, the old cookie with personalize gets 401
#     `signed_out`, and nothing reaches the public library
#   consent: an anonymous question is never published by asking; shared
#     with consent, it waits for review (still not public)
#   gzip and PDF bombs: refused, and the server's peak memory stays under
#     300 MiB above what it was before
#   throttle race: of 100 concurrent wrong logins at one account, at most 5
#     are checked; then the right password gets 429 with Retry-After
#   slow headers: 50 connections that never finish their headers are dropped
#     after the header-read timeout
#   quota: a small gzip of 51 MiB of text is over the 50 MiB quota (409)
#   injected session: a session row written into the database is refused
#   audit log: rows cut off the end, and a chain rewritten without the key,
#     are detected by `sextant audit verify`
#
# Environment: SEXTANT_DATA (default ../shared/data; without the corpus the
# script is skipped unless ATTACK_REQUIRED=1), SEXTANT_BIN, KEEP_TMP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=${SEXTANT_DATA:-$ROOT/../shared/data}
BIN=${SEXTANT_BIN:-$ROOT/target/release/sextant}
start=$(date +%s)
say() { printf 'attack: %s\n' "$*"; }
fails=0
pass() { say "ok    $*"; }
fail() { say "FAIL  $*" >&2; fails=$((fails + 1)); }

if [ ! -d "$DATA/corpus/cancergov-2025" ]; then
  if [ "${ATTACK_REQUIRED:-0}" = 1 ]; then say "no corpus at $DATA" >&2; exit 1; fi
  say "skipped: no corpus at $DATA/corpus/cancergov-2025 (set SEXTANT_DATA)"
  exit 0
fi
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release -p sextant-cli ${SEXTANT_CARGO_FEATURES:+--features "$SEXTANT_CARGO_FEATURES"}
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sextant-attack.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

"$BIN" --data "$DATA" --kb "$TMP/kb" ingest -q >/dev/null 2>"$TMP/ingest.log" || { cat "$TMP/ingest.log" >&2; exit 1; }
"$BIN" init --key-file "$TMP/key" --database-url "sqlite://$TMP/db.sqlite" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
URL="http://127.0.0.1:$PORT"
"$BIN" --data "$DATA" --kb "$TMP/kb" serve --addr "127.0.0.1:$PORT" --insecure-cookies \
  --key-file "$TMP/key" --database-url "sqlite://$TMP/db.sqlite" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if curl -fs -m 2 "$URL/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 1; }
  sleep 0.5
done
say "server at $URL"

C="curl -s -m 20"
status() { $C -o /dev/null -w '%{http_code}' "$@"; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }

# Two accounts: cookies and CSRF tokens.
account() { # email jar -> prints csrf
  local creds="{\"email\":\"$1\",\"password\":\"correct horse battery staple\"}"
  $C -o /dev/null -H 'content-type: application/json' -d "$creds" "$URL/api/account/register"
  $C -c "$2" -H 'content-type: application/json' -d "$creds" "$URL/api/account/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])'
}
CSRF_A=$(account ann@example.org "$TMP/a.jar")
CSRF_B=$(account bob@example.org "$TMP/b.jar")
printf 'Diagnosis: breast cancer. CANARY-%s\n' "$RANDOM$RANDOM" >"$TMP/note.txt"
CANARY=$(grep -o 'CANARY-[0-9]*' "$TMP/note.txt")
ID=$($C -b "$TMP/a.jar" -H "x-csrf-token: $CSRF_A" -F "file=@$TMP/note.txt;type=text/plain" "$URL/api/records" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); r=d.get("records") or d.get("added") or []; print(r[0]["id"] if r else "")')
[ -n "$ID" ] || fail "upload as A"

# 1. Two accounts.
s=$(status -b "$TMP/b.jar" "$URL/api/records/$ID")
body=$($C -b "$TMP/b.jar" "$URL/api/records")
s2=$(status -X DELETE -b "$TMP/b.jar" -H "x-csrf-token: $CSRF_B" "$URL/api/records/$ID")
if [ "$s" = 404 ] && [ "$s2" = 404 ] && ! grep -q "$ID" <<<"$body"; then pass "B cannot read, list or delete A's record"; else fail "cross-account: read $s, delete $s2"; fi

# 1b. No email oracle: registering a taken address gets the reply a free one
# gets (two more registrations from this client; the limit is 5).
taken=$($C -w ' %{http_code}' -H 'content-type: application/json' -d '{"email":"ann@example.org","password":"another long password"}' "$URL/api/account/register")
free=$($C -w ' %{http_code}' -H 'content-type: application/json' -d '{"email":"erin@example.org","password":"another long password"}' "$URL/api/account/register")
if [ "$taken" = "$free" ]; then pass "register says nothing about who has an account ($free)"; else fail "email oracle: taken '$taken', free '$free'"; fi

# 2. CSRF.
s=$(status -X DELETE -b "$TMP/a.jar" "$URL/api/records/$ID")
if [ "$s" = 403 ]; then pass "a delete without the CSRF token is refused (403)"; else fail "CSRF: $s"; fi

# 3. Stale session: log out, then post the form with the old cookie.
cp "$TMP/a.jar" "$TMP/a-old.jar"
$C -o /dev/null -X POST -b "$TMP/a.jar" -H "x-csrf-token: $CSRF_A" "$URL/api/account/logout"
s=$(status -b "$TMP/a-old.jar" --data-urlencode "question=I am Jane Doe, DOB 03/14/1962, what treatments are there for my cancer?" \
  -d personalize=on -d "csrf=$CSRF_A" "$URL/ask")
lib=$($C "$URL/answers")
if [ "$s" = 401 ] && ! grep -q "Jane" <<<"$lib"; then pass "a stale session is told it is signed out and nothing is published"; else fail "stale session: $s"; fi

# 4. Consent: asking publishes nothing; sharing queues for review.
$C -o /dev/null -H 'content-type: application/json' -d '{"question":"How is colon cancer treated?"}' "$URL/api/ask"
s=$(status -H 'content-type: application/json' -d '{"question":"How is colon cancer treated?","consent":true}' "$URL/api/library/share")
lib=$($C "$URL/answers")
if [ "$s" = 202 ] && ! grep -qi "colon cancer treated" <<<"$lib"; then pass "asked is not published; shared waits for review"; else fail "consent: share $s"; fi

# 5. Bombs: memory stays bounded.
base=$(peak_kib)
python3 - "$TMP" <<'PY'
import gzip, sys, zlib
d = sys.argv[1]
with gzip.open(f"{d}/bomb.txt.gz", "wb", compresslevel=9) as f:
    chunk = b"A" * (1 << 20)
    for _ in range(200):
        f.write(chunk)
z = zlib.compress(b"\0" * (400 << 20), 9)
pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
pdf += b"3 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(z) + z + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
open(f"{d}/bomb.pdf", "wb").write(pdf)
PY
CSRF_A=$(account carol@example.org "$TMP/c.jar")
s1=$(status -b "$TMP/c.jar" -H "x-csrf-token: $CSRF_A" -F "file=@$TMP/bomb.txt.gz;type=application/gzip" "$URL/api/records")
s2=$(status -b "$TMP/c.jar" -H "x-csrf-token: $CSRF_A" -F "file=@$TMP/bomb.pdf;type=application/pdf" "$URL/api/records")
grown=$(( ($(peak_kib) - base) / 1024 ))
if [ "$s1" -ge 400 ] && [ "$s2" -ge 400 ] && [ "$grown" -le 300 ]; then
  pass "gzip bomb ($s1) and PDF bomb ($s2) refused; peak memory +$grown MiB"
else
  fail "bombs: gzip $s1, pdf $s2, peak memory +$grown MiB"
fi

# 6. Throttle race: 100 concurrent wrong guesses at one account.
$C -o /dev/null -H 'content-type: application/json' -d '{"email":"dan@example.org","password":"correct horse battery staple"}' "$URL/api/account/register"
guessers=()
for i in $(seq 1 100); do
  status -H 'content-type: application/json' -d "{\"email\":\"dan@example.org\",\"password\":\"guess $i guess $i\"}" \
    "$URL/api/account/login" >"$TMP/guess.$i" &
  guessers+=($!)
done
wait "${guessers[@]}"
# Each file holds one status code, without a newline.
all=$(cat "$TMP"/guess.* | grep -o '[0-9][0-9][0-9]')
checked=$(grep -c '^401$' <<<"$all" || true)
codes=$(sort <<<"$all" | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')
hdr=$($C -D - -o /dev/null -H 'content-type: application/json' -d '{"email":"dan@example.org","password":"correct horse battery staple"}' "$URL/api/account/login")
if [ "$checked" -le 5 ] && grep -q '^HTTP/1.1 429' <<<"$hdr" && grep -qi '^retry-after:' <<<"$hdr"; then
  pass "100 concurrent guesses ($codes): $checked checked; the right password then gets 429 with Retry-After"
else
  fail "throttle race ($codes): $checked checked; $(head -1 <<<"$hdr")"
fi

# 7. Slow headers: 50 half-sent requests are dropped after the timeout.
python3 - "$PORT" <<'PY' && pass "50 half-sent requests dropped within the header-read timeout" || fail "slow headers held"
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(50):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
time.sleep(12)
closed = 0
for s in socks:
    s.settimeout(1)
    try:
        closed += s.recv(64) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed += 1
    except socket.timeout:
        pass
print(f"attack:       {closed} of 50 closed after 12 s")
sys.exit(0 if closed == 50 else 1)
PY

# 5b. Quotas count unpacked bytes: a 51 MiB text in a gzip of a few hundred
# KB (under the 64 MiB unpack cap) is over the 50 MiB per-person quota.
python3 - "$TMP" <<'PY'
import gzip, sys
line = b"Progress note: invasive ductal carcinoma of the left breast, on tamoxifen.\n"
with gzip.open(f"{sys.argv[1]}/quota.txt.gz", "wb", compresslevel=9) as f:
    f.write(line * (51 * 1024 * 1024 // len(line) + 1))
PY
base=$(peak_kib)
t0=$(date +%s%N)
s3=$(status -b "$TMP/c.jar" -H "x-csrf-token: $CSRF_A" -F "file=@$TMP/quota.txt.gz;type=application/gzip" "$URL/api/records")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grown=$(( ($(peak_kib) - base) / 1024 ))
if [ "$s3" = 409 ] && [ "$grown" -le 300 ]; then
  pass "a $(($(stat -c %s "$TMP/quota.txt.gz") / 1024)) KiB gzip of 51 MiB is over the quota (409 in $ms ms; peak memory +$grown MiB)"
else
  fail "quota counted packed bytes: $s3 in $ms ms, peak memory +$grown MiB"
fi

# 5c. A session row written into the database by hand is not honoured.
python3 - "$TMP/db.sqlite" <<'PY'
import hashlib, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=15)
uid = db.execute("SELECT id FROM users LIMIT 1").fetchone()[0]
th = hashlib.sha256(b"handmade-session-token-handmade-session-tok").hexdigest()
now = int(time.time())
db.execute("INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, mac) VALUES (?, ?, 'x', ?, ?, '')", (th, uid, now, now))
db.commit()
PY
s4=$(status -b "sextant_session=handmade-session-token-handmade-session-tok" "$URL/api/records")
if [ "$s4" = 401 ]; then pass "a session row injected into the database is refused (401)"; else fail "injected session honoured: $s4"; fi

# The server survived all of it.
if curl -fs -m 5 "$URL/healthz" >/dev/null; then pass "the server still answers"; else fail "the server stopped answering"; fi
if grep -q "$CANARY" "$TMP/server.log"; then fail "the record's canary reached the server log"; fi

# 8. The audit log, attacked by someone who can write the database but not
# read the key: cut rows off the end (and point the head at the new last
# row), then rewrite the whole chain without the record.read rows.
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
verify() { local db=$1; shift; "$BIN" audit verify --key-file "$TMP/key" --database-url "sqlite://$db" "$@" >"$TMP/verify.out" 2>&1; }
if verify "$TMP/db.sqlite" && grep -q "reaches the head" "$TMP/verify.out"; then pass "audit log intact and anchored ($(head -1 "$TMP/verify.out"))"; else fail "audit verify on the untouched log: $(cat "$TMP/verify.out")"; fi
tamper() { # kind -> a tampered copy of the database at $TMP/$kind.sqlite
  python3 - "$TMP/db.sqlite" "$TMP/$1.sqlite" "$1" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
sqlite3.connect(sys.argv[1]).backup(db)
if sys.argv[3] == "truncate":
    last = db.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0] - 3
    db.execute("DELETE FROM audit_log WHERE seq > ?", (last,))
    h = db.execute("SELECT hash FROM audit_log WHERE seq = ?", (last,)).fetchone()[0]
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (last, h))
else:
    db.execute("DELETE FROM audit_log WHERE action = 'record.read'")
    rows = db.execute("SELECT seq, at, actor, subject, target, action, outcome FROM audit_log ORDER BY seq").fetchall()
    prev = "0" * 64
    for i, (seq, at, *fields) in enumerate(rows, 1):
        m = b"sextant-audit/v1"
        for f in [prev, str(i), str(at), *fields]:
            b = f.encode()
            m += len(b).to_bytes(8, "big") + b
        h = hashlib.sha256(m).hexdigest()
        db.execute("UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ?, v = 1 WHERE seq = ?", (i, prev, h, seq))
        prev = h
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (len(rows), prev))
db.commit()
PY
}
tamper truncate
if ! verify "$TMP/truncate.sqlite" && grep -q "BROKEN" "$TMP/verify.out"; then pass "rows cut off the end are detected ($(grep BROKEN "$TMP/verify.out"))"; else fail "audit truncation passed: $(cat "$TMP/verify.out")"; fi
tamper rewrite
mv "$TMP/audit.head" "$TMP/audit.head.kept"
if ! verify "$TMP/rewrite.sqlite" && grep -q "BROKEN" "$TMP/verify.out"; then pass "a chain rewritten without the key is detected, even without the head file ($(grep BROKEN "$TMP/verify.out"))"; else fail "audit rewrite passed: $(cat "$TMP/verify.out")"; fi

say "done in $(($(date +%s) - start)) s, $fails failure(s)"
[ "$fails" = 0 ]
