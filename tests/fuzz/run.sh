#!/bin/sh
# Builds (if needed) and runs rahnama's libFuzzer targets for a bounded time each, after
# replaying the saved crash inputs in tests/fuzz/regressions/<target>/. Exits non-zero when a
# target crashes (printing the path of the input that did it), 77 when clang++ or libFuzzer is
# not installed (CTest's SKIP_RETURN_CODE). Seed corpora are assembled in a temporary directory:
# nothing is written into the source tree.
#
# Usage: tests/fuzz/run.sh [--time SECONDS] [--build-dir DIR | --bin-dir DIR] [--corpus-dir DIR]
#                          [--jobs N] [--keep] [--no-replay] [TARGET...]
#   --time S        seconds of fuzzing per target (default $FUZZ_TIME or 20)
#   --build-dir D   the standalone clang build (default <repo>/build-fuzz); configured with
#                   CC=clang CXX=clang++ and built incrementally before running
#   --bin-dir D     binaries already built there (CTest in a clang -DRAHNAMA_FUZZ=ON tree): no build
#   --corpus-dir D  keep the corpus in D/<target> across runs (long runs; outside the repo)
#   --jobs N        libFuzzer worker processes per target (-fork=N; default 1)
#   --keep          keep the temporary directory (corpus, logs) even when everything passed
#   --no-replay     skip regressions/ (to keep exploring while a saved crash is not fixed yet)
#   TARGET          whatsapp_webhook_fuzzer messenger_webhook_fuzzer intents_fuzzer content_fuzzer
# Environment: RAHNAMA_SHARED_DIR (default <repo>/../shared) for shared/fixtures/meta/,
#   FUZZ_CC/FUZZ_CXX (default clang/clang++, else clang-14/clang++-14), FUZZ_ARGS (extra
#   libFuzzer flags, e.g. "-max_len=65536").
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
time_per_target=${FUZZ_TIME:-20}
build_dir="$repo/build-fuzz"
bin_dir=""
corpus_root=""
jobs=1
keep=0
replay=1
targets=""
all_targets="whatsapp_webhook_fuzzer messenger_webhook_fuzzer intents_fuzzer content_fuzzer"

while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_per_target=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    --corpus-dir) corpus_root=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-replay) replay=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets="$targets $1"; shift ;;
  esac
done
[ -n "$targets" ] || targets=$all_targets
shared=${RAHNAMA_SHARED_DIR:-$repo/../shared}
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

# --- Tools: skip (77) rather than fail when the fuzzing toolchain is not installed.
pick() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }; done; return 1; }
cxx=$(pick ${FUZZ_CXX:-clang++ clang++-14}) || cxx=""
cc=$(pick ${FUZZ_CC:-clang clang-14}) || cc=""
if [ -z "$bin_dir" ]; then
  if [ -z "$cxx" ] || [ -z "$cc" ]; then
    echo "SKIP: clang++ not found (Debian 12: apt-get install clang-14 libclang-rt-14-dev)"
    exit 77
  fi
  probe=$(mktemp -d "${TMPDIR:-/tmp}/rahnama-fuzz-probe.XXXXXX")
  printf '%s\n' '#include <fuzzer/FuzzedDataProvider.h>' \
    'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cc"
  if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" >"$probe/log" 2>&1; then
    rm -rf "$probe"
    echo "SKIP: $cxx cannot link -fsanitize=fuzzer (Debian 12: apt-get install libclang-rt-14-dev)"
    exit 77
  fi
  rm -rf "$probe"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    echo "== configuring $build_dir with $cxx"
    CC=$cc CXX=$cxx cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
  fi
  echo "== building the fuzz targets in $build_dir"
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j "$(nproc)" --target $targets >"$build_dir/fuzz-build.log" 2>&1 || {
    tail -n 40 "$build_dir/fuzz-build.log"; echo "FAIL: the fuzz targets do not build ($build_dir/fuzz-build.log)"; exit 1; }
  bin_dir=$build_dir
fi

# --- Seeds. Shared fixtures are read in place and copied only into the temporary corpus.
work=$(mktemp -d "${TMPDIR:-/tmp}/rahnama-fuzz.XXXXXX")
seed() {  # seed TARGET CORPUS_DIR
  case "$1" in
    whatsapp_webhook_fuzzer) channel=whatsapp ;;
    messenger_webhook_fuzzer) channel=messenger ;;
    *) return 0 ;;  # intents_fuzzer, content_fuzzer generate theirs (RAHNAMA_FUZZ_SEED_DIR)
  esac
  if [ -d "$shared/fixtures/meta/$channel" ]; then
    find "$shared/fixtures/meta/$channel" -type f | while read -r f; do
      cp "$f" "$2/shared-$(printf '%s' "$f" | cksum | cut -d' ' -f1)"
    done
  else
    echo "   ($shared/fixtures/meta/$channel absent: seeding from tests/testdata/$channel)"
    for f in "$repo/tests/testdata/$channel"/*.json; do cp "$f" "$2/testdata-$(basename "$f")"; done
  fi
}

failed=""
for t in $targets; do
  bin="$bin_dir/$t"
  [ -x "$bin" ] || { echo "FAIL: $bin not built"; failed="$failed $t"; continue; }
  corpus=${corpus_root:+$corpus_root/$t}
  corpus=${corpus:-$work/corpus/$t}
  artifacts="$work/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  seed "$t" "$corpus"
  dict=""
  case "$t" in *webhook*) dict="-dict=$here/webhook.dict" ;; esac
  common="-artifact_prefix=$artifacts/ -timeout=25 -rss_limit_mb=2560 -print_final_stats=0"

  # 1. Replay every saved crash input once (they must pass once the bug is fixed).
  regressions="$here/regressions/$t"
  if [ "$replay" = 1 ] && [ -n "$(ls -A "$regressions" 2>/dev/null | grep -v '^README')" ]; then
    echo "== $t: replaying $(ls "$regressions" | grep -vc '^README') saved input(s)"
    # shellcheck disable=SC2046
    if ! "$bin" $common -runs=1 $(ls -d "$regressions"/* | grep -v '/README') >"$work/$t.replay.log" 2>&1; then
      # One process stops at the first crash: replay one by one to name every input still failing.
      for f in $(ls -d "$regressions"/* | grep -v '/README'); do
        "$bin" $common -runs=1 "$f" >"$work/$t.replay.one.log" 2>&1 && continue
        echo "FAIL: $t crashes on saved input $f"
        grep -E 'ERROR: |FUZZ_CHECK|SUMMARY|runtime error|what\(\)' "$work/$t.replay.one.log" | head -n 4 | cut -c1-240
        grep -E ' #[0-9]+ 0x[0-9a-f]+ in .*(bot::|/tests/fuzz/)' "$work/$t.replay.one.log" | head -n 3 | cut -c1-240
        cat "$work/$t.replay.one.log" >>"$work/$t.replay.log"
      done
      echo "      reproduce: $bin <input>   (log: $work/$t.replay.log)"
      failed="$failed $t"
      continue
    fi
  fi

  # 2. Fuzz for the time given.
  echo "== $t: fuzzing for ${time_per_target}s (corpus $corpus)"
  fork=""
  [ "$jobs" -gt 1 ] && fork="-fork=$jobs"
  # shellcheck disable=SC2086
  RAHNAMA_FUZZ_SEED_DIR=$corpus "$bin" $common $dict $fork -max_total_time="$time_per_target" \
    ${FUZZ_ARGS:-} "$corpus" >"$work/$t.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR: |FUZZ_CHECK|SUMMARY|runtime error|what\(\)' "$work/$t.log" | head -n 6 | cut -c1-240
    grep -E ' #[0-9]+ 0x[0-9a-f]+ in .*(bot::|/tests/fuzz/)' "$work/$t.log" | head -n 8 | cut -c1-240
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/$t.log" | tail -n 1)
    echo "FAIL: $t exited $rc; crashing input: ${crash:-see $work/$t.log}"
    echo "      log: $work/$t.log   reproduce: $bin ${crash:-<input>}"
    failed="$failed $t"
  else
    echo "   $(grep -E '^#[0-9]+.*(DONE|cov:)' "$work/$t.log" | tail -n 1)"
  fi
done

if [ -n "$failed" ]; then
  echo "FUZZ FAILED:$failed (inputs and logs kept in $work)"
  exit 1
fi
if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
echo "fuzz: all targets passed"
