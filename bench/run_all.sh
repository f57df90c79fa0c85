#!/usr/bin/env bash
# rahnama benchmarks: `make bench` runs this. See BENCHMARKS.md for what each part measures.
#
# Builds what it needs (Release, in build-bench/), installs missing Debian packages when run as
# root, then runs the sections below and writes raw results + summary.md to bench/results/<stamp>/.
# All load goes to 127.0.0.1; every run is bounded in time; every process started here is stopped
# by its PID.
#
# Environment:
#   BENCH_SECTIONS  which parts, default "ingest e2e classify scale"
#   BENCH_RUNS      repetitions per measurement (medians are reported), default 3
#   BENCH_DURATION  measured seconds per wrk run, default 10 (plus a 2 s unmeasured warm-up)
#   BENCH_OUT       results directory, default bench/results/<UTC stamp>
#   BENCH_NO_BUILD  set to 1 to skip the build step
#   BENCH_NICE      e.g. -10: run at a higher CPU priority than other work on the machine (root)
#   BENCH_SCALE_AB  0 to skip the case-list run with the proposed index (default 1)
#   BENCH_RAHNAMA_ARGS  extra `rahnama serve` arguments for A/B runs, e.g. "--ingest-backoff-batch 0"
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BENCH_NICE=-10: run everything (servers, load generators) at a higher CPU priority than other
# work on the machine (needs root); every child inherits it.
if [ -n "${BENCH_NICE:-}" ] && [ -z "${BENCH_NICED:-}" ]; then BENCH_NICED=1 exec nice -n "$BENCH_NICE" "$0" "$@"; fi
BB=${BENCH_BUILD:-$REPO/build-bench}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$REPO/bench/results/$STAMP}
WORK=${BENCH_WORK:-$BB/bench-work}
RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10}
WARMUP=2
SECTIONS=${BENCH_SECTIONS:-"ingest e2e classify scale"}
SECRET=bench-app-secret-0123456789
P_WEB=18480 P_ADMIN=18481 P_GRAPH=18482 P_TRIV=18483 P_E2E_GRAPH=18484
RAHNAMA=$BB/rahnama
T=$BB/bench
mkdir -p "$OUT" "$WORK"
LOG=$OUT/run.log
exec > >(tee -a "$LOG") 2>&1

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ------------------------------------------------------------------------------------------------
# Packages and build
need_pkgs=(cmake g++ make pkg-config libcpp-httplib-dev nlohmann-json3-dev libsqlite3-dev libicu-dev libssl-dev
           libre2-dev libargon2-dev libcli11-dev libbenchmark-dev sqlite3 curl wrk python3 iproute2)
missing=()
for p in "${need_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# node and npm may come from elsewhere than Debian (npm is a separate Debian package): check the commands
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "$(id -u)" = 0 ]; then
  dpkg -s linux-perf >/dev/null 2>&1 || missing+=(linux-perf)  # profiling only; root only
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
elif [ ${#missing[@]} -gt 0 ]; then
  echo "missing Debian packages: ${missing[*]}"
  echo "run as root, or: sudo apt-get install -y ${missing[*]}"
  exit 1
fi

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  say "building (Release + -g) in $BB"
  if grep -q 'add_subdirectory(bench)' "$REPO/CMakeLists.txt"; then
    bench_cmake=(-DRAHNAMA_BENCH=ON)
  else
    bench_cmake=(-DCMAKE_PROJECT_rahnama_INCLUDE="$REPO/bench/inject.cmake")
  fi
  cmake -S "$REPO" -B "$BB" -DCMAKE_BUILD_TYPE=Release -DRAHNAMA_TESTS=OFF -DCMAKE_CXX_FLAGS=-g "${bench_cmake[@]}" >/dev/null
  cmake --build "$BB" -j "$(nproc)" --target rahnama bench_tools
fi

# ------------------------------------------------------------------------------------------------
# Process helpers (stop only what we started, by PID)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
require_free() {
  for p in "$@"; do
    if ! port_free "$p"; then echo "port $p is in use: refusing to start (is an old benchmark server running?)"; exit 1; fi
  done
}
wait_http() {  # URL [seconds]
  local i
  for ((i = 0; i < ${2:-30} * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1"; return 1
}
stop_pid() {  # PID: SIGTERM, wait up to 20 s, then SIGKILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  echo "pid $pid ignored SIGTERM for 20 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

# rahnama serve on a database; extra args follow. Sets RPID.
start_rahnama() {  # DB GRAPH_PORT [args...]
  local db=$1 gport=$2; shift 2
  require_free "$P_WEB" "$P_ADMIN"
  RAHNAMA_APP_SECRET=$SECRET RAHNAMA_VERIFY_TOKEN=bench-verify RAHNAMA_WA_TOKEN=bench-token \
  RAHNAMA_GRAPH_URL=http://127.0.0.1:$gport RAHNAMA_LOG_LEVEL=warn \
    "$RAHNAMA" serve --port "$P_WEB" --admin-port "$P_ADMIN" --db "$db" --locales "$REPO/locales" \
    --console "$REPO/bot/console" ${BENCH_RAHNAMA_ARGS:-} "$@" >>"$OUT/rahnama.log" 2>&1 &
  RPID=$!
  PIDS+=("$RPID")
  wait_http "http://127.0.0.1:$P_WEB/healthz" 60
}

fresh_db() { rm -f "$1" "$1-wal" "$1-shm"; }

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: $(uname -srm); $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "disk: $(df -hT "$WORK" | awk 'NR==2 {print $2" on "$1}')"
  echo "nice: $(nice)"
  echo "git: ${BENCH_GIT_LABEL:-}$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) $(git -C "$REPO" status --porcelain 2>/dev/null | grep -v '^??' | grep -qv ' bench/' && echo '(work tree has uncommitted changes outside bench/)')"
  { git -C "$REPO" status --porcelain 2>/dev/null | grep -v '^?? bench/' | grep -v 'BENCHMARKS.md' | sed 's/^/  changed: /'; } || true
  echo "rahnama serve extra args: ${BENCH_RAHNAMA_ARGS:-none}"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "sections: $SECTIONS; runs: $RUNS; wrk: ${WARMUP}s warm-up + ${DURATION}s measured"
} | tee "$OUT/machine.txt"

# ------------------------------------------------------------------------------------------------
# 1 + 5. Webhook ingest: rahnama vs the trivial server, 1/32/128 connections; peak RSS
wrk_run() {  # URL CONNS SECONDS PREFIX → prints the BENCH_RESULT line
  local url=$1 c=$2 d=$3 prefix=$4 t=2
  [ "$c" -lt 2 ] && t=1
  wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s --latency -s "$REPO/bench/webhook.lua" "$url" -- "$prefix" |
    tee -a "$OUT/wrk.log" | grep '^BENCH_RESULT' | sed 's/^BENCH_RESULT //'
}
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

section_ingest() {
  say "ingest: generating signed bodies"
  local per_main=$(( 16000 * DURATION ))  # per wrk thread; rahnama stays far below 16k req/s per thread
  "$T/bench_gen_bodies" --secret "$SECRET" --out "$WORK/warm" --threads 2 --per-thread 40000 --tag w \
    "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl"
  "$T/bench_gen_bodies" --secret "$SECRET" --out "$WORK/main" --threads 2 --per-thread "$per_main" --tag m \
    "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl"
  require_free "$P_GRAPH" "$P_TRIV"
  "$T/bench_fake_graph" "$P_GRAPH" >>"$OUT/fake_graph.log" 2>&1 & local gpid=$!; PIDS+=("$gpid")
  "$T/bench_trivial_server" "$P_TRIV" >>"$OUT/trivial.log" 2>&1 & local tpid=$!; PIDS+=("$tpid")
  wait_http "http://127.0.0.1:$P_TRIV/healthz"
  local tsv=$OUT/ingest.tsv
  printf 'system\tconns\trun\treq_s\tp50_ms\tp99_ms\tnon2xx\tsocket_errors\tcpu_us_per_req\trows_in\tacked_2xx\trows_ok\tvmhwm_kb\tloadavg\tanswered\turgent_in\turgent_waiting\turgent_turn_p50_ms\turgent_turn_p99_ms\n' >"$tsv"
  local rep c
  for ((rep = 1; rep <= RUNS; rep++)); do
    for c in 1 32 128; do
      for sys in trivial rahnama; do
        local url pid db=""
        if [ "$sys" = trivial ]; then
          url=http://127.0.0.1:$P_TRIV/webhooks/whatsapp; pid=$tpid
        else
          db=$WORK/ingest.db; fresh_db "$db"
          start_rahnama "$db" "$P_GRAPH"
          url=http://127.0.0.1:$P_WEB/webhooks/whatsapp; pid=$RPID
        fi
        local load; load=$(cut -d' ' -f1 /proc/loadavg)
        local w; w=$(wrk_run "$url" "$c" "$WARMUP" "$WORK/warm")
        local t0; t0=$(cpu_ticks "$pid")
        local r; r=$(wrk_run "$url" "$c" "$DURATION" "$WORK/main")
        local t1; t1=$(cpu_ticks "$pid")
        local req dur non2xx errs p50 p99 rps cpu
        req=$(kv requests "$r"); dur=$(kv duration_us "$r"); non2xx=$(kv non2xx "$r")
        errs=$(( $(kv errors_connect "$r") + $(kv errors_read "$r") + $(kv errors_write "$r") + $(kv errors_timeout "$r") ))
        p50=$(awk -v v="$(kv p50_us "$r")" 'BEGIN {printf "%.2f", v/1000}')
        p99=$(awk -v v="$(kv p99_us "$r")" 'BEGIN {printf "%.2f", v/1000}')
        rps=$(awk -v n="$req" -v d="$dur" 'BEGIN {printf "%.0f", n/(d/1e6)}')
        cpu=$(awk -v a="$t0" -v b="$t1" -v n="$req" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (b-a)/hz*1e6/n}')
        local rows=- acked=- ok=- hwm=- urgent='-\t-\t-\t-\t-'
        if [ "$sys" = rahnama ]; then
          hwm=$(hwm_kb "$pid")
          stop_pid "$pid"
          rows=$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE direction = 'in'")
          acked=$(( $(kv requests "$w") - $(kv non2xx "$w") + req - non2xx ))
          ok=$([ "$rows" -ge "$acked" ] && echo yes || echo NO)
          # Did the server keep answering during the burst? Inbound messages answered by the stop, the
          # ones stored as possibly urgent, those of them still waiting, and how long an urgent turn
          # took from storing to its committed reply (the fake Graph API's 80/s per number limits
          # sending, not the turns).
          urgent=$(sqlite3 -separator $'\t' "$db" "WITH d AS (SELECT processed_at - created_at AS ms FROM messages
            WHERE direction = 'in' AND urgent = 1 AND processed_at IS NOT NULL), o AS (SELECT ms, row_number() OVER
            (ORDER BY ms) AS k, count(*) OVER () AS n FROM d) SELECT (SELECT count(*) FROM messages WHERE direction = 'in'
            AND status = 'processed'), (SELECT count(*) FROM messages WHERE direction = 'in' AND urgent = 1),
            (SELECT count(*) FROM messages WHERE direction = 'in' AND urgent = 1 AND status = 'pending'),
            COALESCE((SELECT ms FROM o WHERE k = (n + 1) / 2), '-'), COALESCE((SELECT ms FROM o WHERE k = (n * 99 + 99) / 100), '-')")
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%b\n' "$sys" "$c" "$rep" "$rps" "$p50" "$p99" "$non2xx" \
          "$errs" "$cpu" "$rows" "$acked" "$ok" "$hwm" "$load" "$urgent" | tee -a "$tsv"
      done
    done
  done
  stop_pid "$tpid"; stop_pid "$gpid"
}

# ------------------------------------------------------------------------------------------------
# 2 + 3. End to end at a steady 500 msg/s; 10,000 backlog drain with urgent messages on top
section_e2e() {
  local rep db=$WORK/e2e.db
  : >"$OUT/e2e_steady.jsonl"; : >"$OUT/e2e_backlog.jsonl"
  for ((rep = 1; rep <= RUNS; rep++)); do
    for mode in steady backlog; do
      fresh_db "$db"
      require_free "$P_E2E_GRAPH"
      local args=(--mode "$mode" --port "$P_WEB" --graph-port "$P_E2E_GRAPH" --secret "$SECRET" --tag "$rep")
      if [ "$mode" = steady ]; then args+=(--rate 500 --warmup 2 --duration "$DURATION" --wait 60 --workers 64)
      else args+=(--backlog 10000 --workers 32 --urgent-interval-ms 100 --urgent-max 300 --wait 120); fi
      "$T/bench_e2e_load" "${args[@]}" "$REPO/locales/examples/eval.jsonl" "$REPO/locales/examples/extra.jsonl" \
        >>"$OUT/e2e_$mode.jsonl" 2>>"$OUT/e2e.log" &
      local lpid=$!; PIDS+=("$lpid")
      start_rahnama "$db" "$P_E2E_GRAPH" --send-rate 10000
      local epid=$RPID
      wait "$lpid" || echo "e2e_load exited with $?"
      local hwm; hwm=$(hwm_kb "$epid")
      stop_pid "$epid"
      say "e2e $mode run $rep: $(tail -1 "$OUT/e2e_$mode.jsonl" | cut -c1-400) vmhwm_kb=$hwm"
    done
  done
}

# ------------------------------------------------------------------------------------------------
# 4. Classification: Google Benchmark pinned to one core; NLP.js side by side
section_classify() {
  say "classify: Google Benchmark on CPU 1"
  taskset -c 1 "$T/bench_classify" --benchmark_repetitions="$RUNS" --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/classify.json" --benchmark_out_format=json 2>"$OUT/classify_memory.txt" | tee "$OUT/classify.txt"
  cat "$OUT/classify_memory.txt"
  say "classify: NLP.js side by side"
  BENCH_BUILD=$BB "$REPO/bench/compare_nlpjs.sh" "$OUT" | tee "$OUT/compare_nlpjs.txt"
}

# ------------------------------------------------------------------------------------------------
# 6. Scale: 1M messages, 100k contacts, 20k cases; case list / case view p99; size; retention
section_scale() {
  local db=$WORK/scale.db
  fresh_db "$db"
  say "scale: creating the schema"
  start_rahnama "$db" "$P_GRAPH"; stop_pid "$RPID"
  say "scale: generating 100k contacts, 20k cases, 1M messages"
  local t0; t0=$(date +%s.%N)
  sqlite3 "$db" <"$REPO/bench/gen_scale.sql" | tee "$OUT/scale_counts.txt"
  local t1; t1=$(date +%s.%N)
  echo "generate_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b-a}')" | tee -a "$OUT/scale_counts.txt"
  local pw=bench-Admin-pass-2026
  echo "$pw" | "$RAHNAMA" user add --db "$db" --name admin --role admin --password-stdin >/dev/null
  sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  echo "db_bytes=$(stat -c %s "$db")" | tee -a "$OUT/scale_counts.txt"
  start_rahnama "$db" "$P_GRAPH"
  local token
  token=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$pw\"}" "http://127.0.0.1:$P_ADMIN/api/v1/session" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$P_ADMIN/api/v1/cases?queue=unhcr_protection" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("case_list_rows=%d" % len(d))' | tee -a "$OUT/scale_counts.txt"
  curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$P_ADMIN/api/v1/cases/1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("case_view_messages=%d" % len(d["messages"]))' | tee -a "$OUT/scale_counts.txt"
  local tsv=$OUT/scale.tsv
  printf 'endpoint\tconns\trun\treq_s\tp50_ms\tp99_ms\tnon2xx\tloadavg\n' >"$tsv"
  local rep c ep
  for ((rep = 1; rep <= RUNS; rep++)); do
    for ep in case_list case_view; do
      for c in 1 8; do
        local t=1; [ "$c" -gt 1 ] && t=2
        local load; load=$(cut -d' ' -f1 /proc/loadavg)
        local r
        r=$(BENCH_TOKEN=$token BENCH_ENDPOINT=$ep wrk -t"$t" -c"$c" -d5s --timeout 5s --latency \
              -s "$REPO/bench/api.lua" "http://127.0.0.1:$P_ADMIN" | tee -a "$OUT/wrk_api.log" | grep '^BENCH_RESULT' | sed 's/^BENCH_RESULT //')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ep" "$c" "$rep" \
          "$(awk -v n="$(kv requests "$r")" -v d="$(kv duration_us "$r")" 'BEGIN {printf "%.0f", n/(d/1e6)}')" \
          "$(awk -v v="$(kv p50_us "$r")" 'BEGIN {printf "%.2f", v/1000}')" \
          "$(awk -v v="$(kv p99_us "$r")" 'BEGIN {printf "%.2f", v/1000}')" "$(kv non2xx "$r")" "$load" | tee -a "$tsv"
      done
    done
  done
  echo "rahnama_vmhwm_kb=$(hwm_kb "$RPID")" | tee -a "$OUT/scale_counts.txt"
  stop_pid "$RPID"
  # A/B for change request CR-5 (BENCHMARKS.md §7): the case list with an index that matches its
  # ORDER BY, added to the database (no code change). Rows are the same; only the plan differs.
  if [ -n "$(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'cases_open_by_rank'")" ]; then
    echo "case_list_rank_index=in the schema already (migration); no A/B run" | tee -a "$OUT/scale_counts.txt"
  elif [ "${BENCH_SCALE_AB:-1}" = 1 ]; then
    sqlite3 "$db" "CREATE INDEX IF NOT EXISTS bench_cases_open_by_rank ON cases(queue, (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END), opened_at) WHERE status != 'resolved';"
    start_rahnama "$db" "$P_GRAPH"
    for ((rep = 1; rep <= RUNS; rep++)); do
      for c in 1 8; do
        local t=1; [ "$c" -gt 1 ] && t=2
        local load; load=$(cut -d' ' -f1 /proc/loadavg)
        local r
        r=$(BENCH_TOKEN=$token BENCH_ENDPOINT=case_list wrk -t"$t" -c"$c" -d5s --timeout 5s --latency \
              -s "$REPO/bench/api.lua" "http://127.0.0.1:$P_ADMIN" | tee -a "$OUT/wrk_api.log" | grep '^BENCH_RESULT' | sed 's/^BENCH_RESULT //')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' case_list+rank_index "$c" "$rep" \
          "$(awk -v n="$(kv requests "$r")" -v d="$(kv duration_us "$r")" 'BEGIN {printf "%.0f", n/(d/1e6)}')" \
          "$(awk -v v="$(kv p50_us "$r")" 'BEGIN {printf "%.2f", v/1000}')" \
          "$(awk -v v="$(kv p99_us "$r")" 'BEGIN {printf "%.2f", v/1000}')" "$(kv non2xx "$r")" "$load" | tee -a "$tsv"
      done
    done
    stop_pid "$RPID"
    sqlite3 "$db" "DROP INDEX bench_cases_open_by_rank;"
  fi
  sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  echo "db_bytes_after_api=$(stat -c %s "$db")" | tee -a "$OUT/scale_counts.txt"
  # Retention: a `rahnama retention --db` subcommand if there is one, else the on-demand admin
  # endpoint POST /api/v1/retention/run (defaults: --retention-days 90, --resolved-case-days 180;
  # the generated messages are from early 2025, so nearly all bodies of people without an open case
  # are due). Runs last: it redacts the database.
  if "$RAHNAMA" --help 2>&1 | grep -qE '^ +retention'; then
    local r0 r1; r0=$(date +%s.%N)
    "$RAHNAMA" retention --db "$db" >"$OUT/retention.log" 2>&1 || echo "retention exited with $?"
    r1=$(date +%s.%N)
    echo "retention_s=$(awk -v a="$r0" -v b="$r1" 'BEGIN {printf "%.2f", b-a}') (rahnama retention --db)" | tee -a "$OUT/scale_counts.txt"
  elif "$RAHNAMA" serve --help 2>&1 | grep -q -- '--retention-days'; then
    start_rahnama "$db" "$P_GRAPH"
    local login csrf r0 r1 code
    login=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$pw\"}" \
      "http://127.0.0.1:$P_ADMIN/api/v1/session")
    token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$login")
    csrf=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("csrf_token", ""))' "$login")
    r0=$(date +%s.%N)
    code=$(curl -sS -o "$OUT/retention.json" -w '%{http_code}' --max-time 600 -X POST -d '{}' -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
      -H "X-CSRF-Token: $csrf" "http://127.0.0.1:$P_ADMIN/api/v1/retention/run")
    r1=$(date +%s.%N)
    echo "retention_s=$(awk -v a="$r0" -v b="$r1" 'BEGIN {printf "%.2f", b-a}') (POST /api/v1/retention/run, HTTP $code: $(head -c 300 "$OUT/retention.json"))" | tee -a "$OUT/scale_counts.txt"
    stop_pid "$RPID"
    sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    echo "db_bytes_after_retention=$(stat -c %s "$db")" | tee -a "$OUT/scale_counts.txt"
  else
    echo "retention_s=pending (this build has neither 'rahnama retention' nor retention in serve)" | tee -a "$OUT/scale_counts.txt"
  fi
}

for s in $SECTIONS; do
  say "=== $s"
  "section_$s"
done
python3 "$REPO/bench/summarize.py" "$OUT" | tee "$OUT/summary.md"
case "$OUT" in "$REPO/bench/results/"*) ln -sfn "$OUT" "$REPO/bench/results/latest" ;; esac
say "results: $OUT (summary.md)"
