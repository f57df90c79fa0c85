#!/usr/bin/env bash
# A/B of server binaries under the ingest load, interleaved (this host's speed drifts by ±10 % within
# minutes, so two binaries are compared round by round, never one run each at different times).
# Each run: a fresh database, `serve` with --synchronous FULL, 2 s warm-up, D s measured with wrk at
# CONNS connections, then the server is stopped and the database asked whether the server kept
# answering: inbound answered/pending, urgent ones still waiting, an urgent turn's p50/p99 (ms from
# storing to its committed reply).
# Usage: bench/ab_ingest.sh ROUNDS BINARY[:"serve args"]...   e.g.
#   cp build-bench/rahnama /tmp/a; (change, rebuild) cp build-bench/rahnama /tmp/b
#   CONNS=32 bench/ab_ingest.sh 3 /tmp/a /tmp/b "/tmp/b:--ingest-backoff-batch 8"
# Needs build-bench (bench_fake_graph, bench_gen_bodies); root for the default BENCH_NICE=-10.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BB=${BENCH_BUILD:-$REPO/build-bench}
WORK=$BB/bench-work
SECRET=bench-app-secret-0123456789
P_WEB=18480 P_ADMIN=18481 P_GRAPH=18482
CONNS=${CONNS:-32} D=${D:-10} NICE=${BENCH_NICE:--10}
THREADS=2; [ "$CONNS" -lt 2 ] && THREADS=1
ROUNDS=$1; shift
mkdir -p "$WORK"
for p in $P_WEB $P_ADMIN $P_GRAPH; do ss -Hltn "sport = :$p" | grep -q . && { echo "port $p in use"; exit 1; }; done
for f in warm:40000 main:160000; do
  [ -f "$WORK/${f%%:*}_1.txt" ] || "$BB/bench/bench_gen_bodies" --secret "$SECRET" --out "$WORK/${f%%:*}" --threads 2 \
    --per-thread "${f#*:}" --tag "${f:0:1}" "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl" >/dev/null
done
"$BB/bench/bench_fake_graph" $P_GRAPH >/dev/null 2>&1 & GPID=$!
rpid=
trap 'kill $GPID $rpid 2>/dev/null' EXIT
for r in $(seq "$ROUNDS"); do
  for spec in "$@"; do
    bin=${spec%%:*} args=""; [[ "$spec" == *:* ]] && args=${spec#*:}
    db=$WORK/ab.db; rm -f "$db" "$db-wal" "$db-shm"
    RAHNAMA_APP_SECRET=$SECRET RAHNAMA_VERIFY_TOKEN=v RAHNAMA_WA_TOKEN=t RAHNAMA_GRAPH_URL=http://127.0.0.1:$P_GRAPH \
      RAHNAMA_LOG_LEVEL=warn nice -n "$NICE" "$bin" serve --port $P_WEB --admin-port $P_ADMIN --db "$db" \
      --locales "$REPO/locales" --synchronous FULL $args >"$WORK/ab_server.log" 2>&1 & rpid=$!
    for i in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$P_WEB/healthz" 2>/dev/null && break; sleep 0.1; done
    url=http://127.0.0.1:$P_WEB/webhooks/whatsapp
    nice -n "$NICE" wrk -t$THREADS -c"$CONNS" -d2s -s "$REPO/bench/webhook.lua" "$url" -- "$WORK/warm" >/dev/null 2>&1
    res=$(nice -n "$NICE" wrk -t$THREADS -c"$CONNS" -d"${D}s" --timeout 5s --latency -s "$REPO/bench/webhook.lua" "$url" -- "$WORK/main" | grep BENCH_RESULT)
    rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$rpid/status")
    kill -TERM $rpid; wait $rpid
    rows=$(sqlite3 "$db" "SELECT status || '=' || count(*) FROM messages WHERE direction = 'in' GROUP BY status" | tr '\n' ' ')
    urgent=$(sqlite3 "$db" "WITH d AS (SELECT processed_at - created_at AS ms FROM messages WHERE direction = 'in' AND urgent = 1
      AND processed_at IS NOT NULL), o AS (SELECT ms, row_number() OVER (ORDER BY ms) AS k, count(*) OVER () AS n FROM d)
      SELECT 'urgent_waiting=' || (SELECT count(*) FROM messages WHERE direction = 'in' AND urgent = 1 AND status = 'pending')
      || ' urgent_turn_p50_ms=' || COALESCE((SELECT ms FROM o WHERE k = (n + 1) / 2), '-')
      || ' urgent_turn_p99_ms=' || COALESCE((SELECT ms FROM o WHERE k = (n * 99 + 99) / 100), '-')")
    echo "$r $(basename "$bin")[$args] $(awk '{for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
      printf "req/s=%.0f p50=%.2f p99=%.2f", v["requests"] / (v["duration_us"] / 1e6), v["p50_us"] / 1000, v["p99_us"] / 1000}' <<<"$res") rss=${rss}kB $rows$urgent"
  done
done
