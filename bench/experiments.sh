#!/usr/bin/env bash
# A/B experiments behind the change requests in BENCHMARKS.md §7, on the same server binary:
#   base   – the schema as migrated
#   index  – plus CREATE INDEX outbox_claim ON outbox(state, priority DESC, id), added to the
#            database after the server created it (SQLite's planner picks it up; no code change)
#   normal – --synchronous NORMAL (upper bound for "fsync only where durability needs it")
#   normal+index
# For each: webhook ingest at 32 connections (wrk, 2 s warm-up + D s) and a 10,000-message drain
# with urgent messages on top. Usage: bench/experiments.sh [OUTDIR] [VARIANTS...]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BB=${BENCH_BUILD:-$REPO/build-bench}
OUT=${1:-$REPO/bench/results/experiments-$(date -u +%Y%m%dT%H%M%SZ)}; shift || true
VARIANTS=${*:-base index normal normal+index}
D=${BENCH_DURATION:-10}
NICE=${BENCH_NICE:-0}
SECRET=bench-app-secret-0123456789
P_WEB=18480 P_ADMIN=18481 P_GRAPH=18482 P_E2E=18484
WORK=$BB/bench-work
mkdir -p "$OUT" "$WORK"
for p in $P_WEB $P_ADMIN $P_GRAPH $P_E2E; do ss -Hltn "sport = :$p" | grep -q . && { echo "port $p in use"; exit 1; }; done
[ -f "$WORK/main_1.txt" ] || "$BB/bench/bench_gen_bodies" --secret "$SECRET" --out "$WORK/main" --threads 2 --per-thread 160000 --tag m "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl"
[ -f "$WORK/warm_1.txt" ] || "$BB/bench/bench_gen_bodies" --secret "$SECRET" --out "$WORK/warm" --threads 2 --per-thread 40000 --tag w "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl"

serve() {  # DB GRAPHPORT SYNC [args]
  local db=$1 g=$2 sync=$3; shift 3
  RAHNAMA_APP_SECRET=$SECRET RAHNAMA_VERIFY_TOKEN=v RAHNAMA_WA_TOKEN=t RAHNAMA_GRAPH_URL=http://127.0.0.1:$g RAHNAMA_LOG_LEVEL=warn \
    nice -n "$NICE" "$BB/rahnama" serve --port $P_WEB --admin-port $P_ADMIN --db "$db" --locales "$REPO/locales" --synchronous "$sync" "$@" >>"$OUT/rahnama.log" 2>&1 &
  SPID=$!
  for i in $(seq 200); do curl -fsS -o /dev/null "http://127.0.0.1:$P_WEB/healthz" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start"; exit 1
}
prepare() {  # DB VARIANT
  local db=$1 v=$2; rm -f "$db" "$db-wal" "$db-shm"
  serve "$db" $P_GRAPH FULL; kill -TERM $SPID; wait $SPID || true
  case $v in *index*) sqlite3 "$db" "CREATE INDEX outbox_claim ON outbox(state, priority DESC, id);" ;; esac
}
sync_of() { case $1 in normal*) echo NORMAL ;; *) echo FULL ;; esac; }
trap 'for p in ${SPID:-} ${GPID:-} ${L:-}; do kill -0 $p 2>/dev/null && kill -TERM $p; done; true' EXIT
"$BB/bench/bench_fake_graph" $P_GRAPH >/dev/null 2>&1 & GPID=$!
printf 'variant\ttest\treq_s\tp50_ms\tp99_ms\tpending_in\tpending_outbox\tdrain_s\turgent_p50_ms\turgent_p99_ms\turgent_max_ms\n' >"$OUT/experiments.tsv"
for v in $VARIANTS; do
  db=$WORK/exp.db
  prepare "$db" "$v"
  serve "$db" $P_GRAPH "$(sync_of "$v")"
  nice -n "$NICE" wrk -t2 -c32 -d2s -s "$REPO/bench/webhook.lua" "http://127.0.0.1:$P_WEB/webhooks/whatsapp" -- "$WORK/warm" >/dev/null
  r=$(nice -n "$NICE" wrk -t2 -c32 -d"${D}s" --latency -s "$REPO/bench/webhook.lua" "http://127.0.0.1:$P_WEB/webhooks/whatsapp" -- "$WORK/main" | grep BENCH_RESULT)
  pend=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM messages WHERE direction='in' AND status='pending') || char(9) || (SELECT count(*) FROM outbox WHERE state='pending')")
  kill -TERM $SPID; wait $SPID || true
  req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$r"); dur=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$r")
  p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$r"); p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$r")
  printf '%s\tingest32\t%.0f\t%.2f\t%.2f\t%s\t-\t-\t-\t-\n' "$v" "$(awk -v a="$req" -v b="$dur" 'BEGIN {print a/(b/1e6)}')" "$(awk -v a="$p50" 'BEGIN {print a/1000}')" "$(awk -v a="$p99" 'BEGIN {print a/1000}')" "$pend" | tee -a "$OUT/experiments.tsv"
  prepare "$db" "$v"
  nice -n "$NICE" "$BB/bench/bench_e2e_load" --mode backlog --backlog 10000 --workers 32 --urgent-interval-ms 100 --urgent-max 300 --wait 120 \
    --port $P_WEB --graph-port $P_E2E --secret "$SECRET" --tag 5 "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl" >"$OUT/drain_$v.json" 2>/dev/null & L=$!
  serve "$db" $P_E2E "$(sync_of "$v")" --send-rate 10000
  wait $L || true
  kill -TERM $SPID; wait $SPID || true
  python3 - "$OUT/drain_$v.json" "$v" <<'PY' | tee -a "$OUT/experiments.tsv"
import json, sys
d = json.load(open(sys.argv[1])); u = d["urgent"]
print(f"{sys.argv[2]}\tdrain10k\t-\t-\t-\t-\t-\t{d['drain_s_from_first_post']:.1f}\t{u.get('p50_ms', float('nan')):.1f}\t{u.get('p99_ms', float('nan')):.1f}\t{u.get('max_ms', float('nan')):.1f}")
PY
done
kill -TERM $GPID; wait $GPID || true
echo "results: $OUT/experiments.tsv"
