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

.PHONY: all deps test-deps configure build run test bench clean sanitize console-deps fuzz
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

console-deps:
	@if [ -f tests/console/package.json ] && [ ! -d tests/console/node_modules/playwright-core ]; then \
	  cd tests/console && npm ci --no-audit --no-fund --loglevel=error; fi

sanitize:
	@$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_ARGS=-DRAHNAMA_SANITIZE=ON

bench: build
	@./bench/run_all.sh

fuzz: deps
	@DEPS="clang libclang-rt-14-dev" ./deploy/ensure-packages.sh
	@tests/fuzz/run.sh --time $(FUZZ_TIME)        # a long run: make fuzz FUZZ_TIME=1800

clean:
	rm -rf $(BUILD) build-asan build-fuzz
