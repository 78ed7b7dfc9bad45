#!/usr/bin/env bash
# Installs exactly the Debian 12 packages voicebox needs to build, run and test.
# Idempotent and non-interactive: packages already present are skipped.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  # engine: model files, tokenizer, maths
  libjansson-dev libpcre2-dev libutf8proc-dev libopenblas-dev libkissfft-dev
  # engine: the int8 weights cache's checksum (XXH3, at memory speed over GB-sized files)
  libxxhash-dev
  # audio
  libsndfile1-dev libsoxr-dev
  # studio + server
  libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev uuid-dev
  # studio: .voicebox.zip packages, avatar images (PNG, JPEG, WebP) and their EXIF orientation
  libzip-dev libpng-dev libjpeg62-turbo-dev libwebp-dev libexif-dev
  # tests: HTTP client, local Hub mirror, audio fixtures, browser tests
  curl python3 sox espeak-ng chromium
  # coverage per layer (scripts/coverage.sh)
  gcovr
)
# Node.js drives the browser tests; a machine that already has node and npm keeps its own.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
