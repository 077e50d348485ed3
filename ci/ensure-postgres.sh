#!/usr/bin/env bash
# Make sure the local PostgreSQL answers on 127.0.0.1:5432; start it if it does not.
# Postgres-backed tests fail (never skip) when it is down, so this runs first.
set -euo pipefail

host=127.0.0.1 port=5432
up() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

up && exit 0
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 30); do
  up && exit 0
  sleep 1
done
echo "PostgreSQL is not answering on $host:$port; Postgres-backed tests will fail" >&2
exit 1
