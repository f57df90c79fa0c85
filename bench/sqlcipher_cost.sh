#!/bin/sh
# The cost of at-rest encryption (bench/SQLCIPHER.md): bench/sqlcipher_cost.cc and the storage
# code (db/, bot/core/) compiled twice with the same flags, once against SQLite 3.40 and once
# against SQLCipher 3.4.1 (= SQLite 3.15.2), then run alternately RUNS times each; prints every
# run and the medians.
#   bench/sqlcipher_cost.sh [messages=20000] [runs=3]
# Needs g++, cmake, pkg-config, libsqlite3-dev, libsqlcipher-dev, nlohmann-json3-dev, openssl,
# python3. Works in a scratch directory under /var/tmp (on disk: fsync is part of the cost).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
messages=${1:-20000}
runs=${2:-3}
out=$(mktemp -d /var/tmp/rahnama-sqlcipher-cost.XXXXXX)
trap 'rm -rf "$out"' EXIT

cmake -DMIGRATIONS_DIR="$repo/db/migrations" -DOUTPUT="$out/migrations_generated.cc" -P db/embed_migrations.cmake
sources="bench/sqlcipher_cost.cc db/database.cc db/sqlite_store.cc db/sqlite_escalation.cc $out/migrations_generated.cc
         bot/core/status.cc bot/core/message.cc bot/core/log.cc bot/core/metrics.cc"
flags="-std=c++20 -O2 -I$repo"
# shellcheck disable=SC2086
g++ $flags $sources $(pkg-config --cflags --libs sqlite3) -lpthread -o "$out/cost-sqlite" &
# shellcheck disable=SC2086
g++ $flags -DRAHNAMA_SQLCIPHER=1 -DSQLITE_HAS_CODEC=1 $sources $(pkg-config --cflags --libs sqlcipher) -lpthread \
  -o "$out/cost-sqlcipher" &
wait
if ldd "$out/cost-sqlcipher" | grep -q 'libsqlite3\.so'; then
  echo "the SQLCipher driver also links libsqlite3" >&2
  exit 1
fi

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $messages messages, $runs runs each"
results=$out/results.jsonl
: >"$results"
i=0
while [ "$i" -lt "$runs" ]; do
  env -u RAHNAMA_DB_KEY -u RAHNAMA_DB_KEY_FILE "$out/cost-sqlite" sqlite "$out/scratch" "$messages" | tee -a "$results"
  RAHNAMA_DB_KEY=$(openssl rand -hex 32) env -u RAHNAMA_DB_KEY_FILE "$out/cost-sqlcipher" sqlcipher "$out/scratch" "$messages" |
    tee -a "$results"
  i=$((i + 1))
done

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["ingest_msgs_per_s", "turns_per_s", "case_list_p50_us", "case_view_p50_us", "open_p50_ms", "file_bytes",
        "retention_one_window_ms", "webhook_max_wait_one_window_ms", "retention_windows_ms", "webhook_max_wait_windows_ms"]
med = {v: {k: statistics.median(r[k] for r in rows if r["variant"] == v) for k in keys} for v in ("sqlite", "sqlcipher")}
print("%-32s %12s %12s %8s" % ("median of runs", "SQLite", "SQLCipher", "ratio"))
for k in keys:
    a, b = med["sqlite"][k], med["sqlcipher"][k]
    print("%-32s %12.1f %12.1f %8.2f" % (k, a, b, b / a if a else float("nan")))
EOF
