#!/usr/bin/env bash
# Profiles rahnama while it drains a backlog of 10,000 messages (processor + sender, no HTTP
# load): perf CPU profile with call graphs, then a second run under strace -c (fsyncs per message)
# and a third with perf sched-free off-CPU view via `perf trace -s` (syscall time summary).
# Usage: bench/profile_drain.sh [OUTDIR] [SECONDS]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BB=${BENCH_BUILD:-$REPO/build-bench}
OUT=${1:-$REPO/bench/results/profile-drain-$(date -u +%Y%m%dT%H%M%SZ)}
SECS=${2:-10}
SYNC=${BENCH_SYNC:-FULL}
SECRET=bench-app-secret-0123456789
P_WEB=18480 P_ADMIN=18481 P_GRAPH=18484
WORK=$BB/bench-work
mkdir -p "$OUT" "$WORK"
for p in $P_WEB $P_ADMIN $P_GRAPH; do ss -Hltn "sport = :$p" | grep -q . && { echo "port $p in use"; exit 1; }; done
pass() {  # NAME TOOL...
  local name=$1; shift
  local db=$WORK/profile_drain.db; rm -f "$db" "$db-wal" "$db-shm"
  "$BB/bench/bench_e2e_load" --mode backlog --backlog 10000 --workers 32 --urgent-max 0 --wait 90 --port $P_WEB \
    --graph-port $P_GRAPH --secret "$SECRET" --tag 7 "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl" \
    >"$OUT/e2e_$name.json" 2>/dev/null & local lpid=$!
  RAHNAMA_APP_SECRET=$SECRET RAHNAMA_VERIFY_TOKEN=v RAHNAMA_WA_TOKEN=t RAHNAMA_GRAPH_URL=http://127.0.0.1:$P_GRAPH \
  RAHNAMA_LOG_LEVEL=warn "$BB/rahnama" serve --port $P_WEB --admin-port $P_ADMIN --db "$db" --locales "$REPO/locales" \
    --synchronous "$SYNC" --send-rate 10000 >"$OUT/rahnama_$name.log" 2>&1 &
  local rpid=$!
  for i in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$P_WEB/healthz" 2>/dev/null && break; sleep 0.1; done
  sleep 4  # posting phase (~3 s); then profile the drain
  "$@" "$rpid" || true
  wait $lpid || true
  kill -TERM $rpid; wait $rpid || true
  python3 -c "import json,sys; d=json.load(open('$OUT/e2e_$name.json')); print('$name: drain', d.get('drain_s_from_first_post'), 's')" || true
}
perf_rec() { perf record -q -o "$OUT/perf.data" -F 499 --call-graph dwarf,32768 -p "$1" -- sleep "$SECS" 2>/dev/null; }
strace_c() { timeout -s INT "$SECS" strace -f -c -o "$OUT/strace.txt" -p "$1"; }
pass perf perf_rec
pass strace strace_c
perf report -i "$OUT/perf.data" --no-children --stdio --sort dso,symbol -g none --percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-160 >"$OUT/perf_self.txt"
perf report -i "$OUT/perf.data" --children --stdio --sort symbol -g none --percent-limit 2 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-200 >"$OUT/perf_children.txt"
head -25 "$OUT/strace.txt"
echo "profile: $OUT"
