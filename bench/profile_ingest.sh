#!/usr/bin/env bash
# Profiles rahnama under the ingest load (wrk, 32 connections): perf CPU profile (call graphs via
# DWARF), plus a syscall count (strace -c) in a second pass: fsyncs per acknowledged message.
# Usage: bench/profile_ingest.sh [OUTDIR] [SECONDS]   (needs root for perf; build-bench built)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BB=${BENCH_BUILD:-$REPO/build-bench}
OUT=${1:-$REPO/bench/results/profile-$(date -u +%Y%m%dT%H%M%SZ)}
SECS=${2:-8}
CONNS=${BENCH_CONNS:-32}
SYNC=${BENCH_SYNC:-FULL}
SECRET=bench-app-secret-0123456789
P_WEB=18480 P_ADMIN=18481 P_GRAPH=18482
WORK=$BB/bench-work
mkdir -p "$OUT" "$WORK"
for p in $P_WEB $P_ADMIN $P_GRAPH; do ss -Hltn "sport = :$p" | grep -q . && { echo "port $p in use"; exit 1; }; done
[ -f "$WORK/main_1.txt" ] || "$BB/bench/bench_gen_bodies" --secret "$SECRET" --out "$WORK/main" --threads 2 \
  --per-thread 160000 --tag m "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl"
"$BB/bench/bench_fake_graph" $P_GRAPH >/dev/null 2>&1 & GPID=$!
pass() {  # NAME TOOL...
  local name=$1; shift
  local db=$WORK/profile.db; rm -f "$db" "$db-wal" "$db-shm"
  RAHNAMA_APP_SECRET=$SECRET RAHNAMA_VERIFY_TOKEN=v RAHNAMA_WA_TOKEN=t RAHNAMA_GRAPH_URL=http://127.0.0.1:$P_GRAPH \
  RAHNAMA_LOG_LEVEL=warn "$BB/rahnama" serve --port $P_WEB --admin-port $P_ADMIN --db "$db" --locales "$REPO/locales" \
    --synchronous "$SYNC" >"$OUT/rahnama_$name.log" 2>&1 &
  local rpid=$!
  for i in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$P_WEB/healthz" 2>/dev/null && break; sleep 0.1; done
  wrk -t2 -c"$CONNS" -d"$((SECS + 1))s" --latency -s "$REPO/bench/webhook.lua" "http://127.0.0.1:$P_WEB/webhooks/whatsapp" -- "$WORK/main" \
    >"$OUT/wrk_$name.txt" 2>&1 & local wpid=$!
  sleep 0.5
  "$@" "$rpid" || true
  wait $wpid || true
  kill -TERM $rpid; wait $rpid || true
  sqlite3 "$db" "SELECT direction, status, count(*) FROM messages GROUP BY 1, 2" >"$OUT/rows_$name.txt"
  grep -E 'Requests/sec|99%' "$OUT/wrk_$name.txt" | sed "s/^/$name: /"
}
perf_rec() { perf record -q -o "$OUT/perf.data" -F 499 --call-graph dwarf,32768 -p "$1" -- sleep "$SECS" 2>/dev/null; }
strace_c() { timeout -s INT "$SECS" strace -f -c -o "$OUT/strace.txt" -p "$1"; }
offcpu() { perf trace -q -s -p "$1" -o "$OUT/perf_trace.txt" -- sleep "$SECS" 2>/dev/null; }
pass perf perf_rec
pass strace strace_c
kill -TERM $GPID; wait $GPID || true
perf report -i "$OUT/perf.data" --no-children --stdio --sort dso,symbol -g none --percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-160 >"$OUT/perf_self.txt"
perf report -i "$OUT/perf.data" --children --stdio --sort symbol -g none --percent-limit 3 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-200 >"$OUT/perf_children.txt"
perf report -i "$OUT/perf.data" --no-children --stdio --sort comm -g none 2>/dev/null | grep -E '^ +[0-9]' >"$OUT/perf_threads.txt" || true
head -25 "$OUT/strace.txt"
echo "profile: $OUT"
