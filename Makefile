# rahnama — `make run` and `make test` on a fresh Debian 12 machine.
# Installs what is missing (as root; otherwise prints the apt-get line), configures, builds.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)

# Debian 12 packages the build and the tests need.
DEPS = cmake g++ make pkg-config libcpp-httplib-dev nlohmann-json3-dev libsqlite3-dev libicu-dev \
       libgtest-dev libssl-dev libre2-dev libargon2-dev libcli11-dev libbenchmark-dev sqlite3 curl
# The web console's end-to-end tests drive Debian's Chromium with playwright-core (npm).
TEST_DEPS = $(DEPS) chromium fonts-noto-core nodejs npm nginx openssl strace systemd prometheus clang libclang-rt-14-dev

.PHONY: all deps test-deps configure build run test bench clean sanitize sqlcipher console-deps fuzz
FUZZ_TIME ?= 20

all: build

deps:
	@DEPS="$(DEPS)" ./deploy/ensure-packages.sh

test-deps:
	@DEPS="$(TEST_DEPS)" ./deploy/ensure-packages.sh

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p data
	./$(BUILD)/rahnama serve --dev --db data/rahnama.db

test: test-deps configure console-deps
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600
	@if [ "$${CI:-}" = "true" ] || [ "$${RAHNAMA_SANITIZE_TESTS:-0}" = "1" ]; then $(MAKE) --no-print-directory sanitize; fi
	@if [ "$${CI:-}" = "true" ] || [ "$${RAHNAMA_SQLCIPHER_TESTS:-0}" = "1" ]; then $(MAKE) --no-print-directory sqlcipher; fi

console-deps:
	@if [ -f tests/console/package.json ] && [ ! -d tests/console/node_modules/playwright-core ]; then \
	  cd tests/console && npm ci --no-audit --no-fund --loglevel=error; fi

# AddressSanitizer + UndefinedBehaviorSanitizer: the engine, channels, content, conversation,
# escalation and end-to-end suites rebuilt with the sanitizers and run again (CI does this after
# the normal run; the fuzz targets already run the parsers under both sanitizers).
SANITIZED_SUITES = intents_test channels_test conversation_test locales_test integration_test escalation_test operators_test
sanitize: test-deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAHNAMA_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS) --target rahnama $(SANITIZED_SUITES)
	@for t in $(SANITIZED_SUITES); do \
	  echo "== $$t under ASan+UBSan"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    build-asan/tests/$$t --gtest_brief=1 || exit 1; \
	done


# At-rest encryption (deploy/README.md section 9): the storage-heavy suites rebuilt against SQLCipher
# 3.4.1 (SQLite 3.15.2) and run again, so SQL that only a newer SQLite understands cannot slip in
# and the encrypted paths stay tested (CI does this after the normal run). Built without
# optimisation or debug info: this tree only runs these tests, and that halves its build time.
SQLCIPHER_SUITES = db_test reliability_test integration_test escalation_test
sqlcipher: test-deps
	@DEPS="libsqlcipher-dev sqlcipher" ./deploy/ensure-packages.sh
	@cmake -S . -B build-sqlcipher -DCMAKE_BUILD_TYPE=None -DRAHNAMA_SQLCIPHER=ON >/dev/null
	@cmake --build build-sqlcipher -j $(JOBS) --target rahnama $(SQLCIPHER_SUITES)
	@for t in $(SQLCIPHER_SUITES); do \
	  echo "== $$t on SQLCipher"; \
	  RAHNAMA_DB_KEY=rahnama-test-key build-sqlcipher/tests/$$t --gtest_brief=1 || exit 1; \
	done

bench: build
	@./bench/run_all.sh

fuzz: deps
	@DEPS="clang libclang-rt-14-dev" ./deploy/ensure-packages.sh
	@tests/fuzz/run.sh --time $(FUZZ_TIME)        # a long run: make fuzz FUZZ_TIME=1800

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-sqlcipher
