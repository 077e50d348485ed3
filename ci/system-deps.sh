#!/usr/bin/env bash
# Install the system packages the platform runs with, only when absent.
# `system-deps.sh node` installs the generator's Node.js and npm instead, and
# `system-deps.sh test` what the tests start themselves (coturn for TURN, redis-server
# for the Redis event bus).
set -euo pipefail

missing=()
if [ "${1:-}" = node ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
elif [ "${1:-}" = test ]; then
  command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
else
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "installing system packages: $packages"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: $packages" >&2; exit 1; }
  sudo="sudo"
fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages
elif command -v brew >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  brew install $packages
else
  echo "no supported package manager; install by hand: $packages" >&2
  exit 1
fi
