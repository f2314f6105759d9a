# Thin wrapper over CMake/CTest. `make test` and `make demo` install what they need first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BUILD_PKGS := build-essential cmake pkg-config libdnnl-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
DATA_PKGS := dataset-fashion-mnist
# Everything the tests and scripts/ run: /usr/bin/python3 with numpy and PIL (test data, JPEG
# reference), torch and torchvision (the .pth converter), chromium (the report), Open MPI (the
# data-parallel tests under mpirun; the build uses MPI when it finds it). Listed even when another
# package pulls them in: scripts/fresh_check.sh proves the lists on a bare Debian root.
TEST_PKGS := python3-numpy python3-pil python3-torch python3-torchvision chromium libopenmpi-dev openmpi-bin
BENCH_PKGS := python3-torch python3-torchvision libopenmpi-dev openmpi-bin
RESULTS_PKGS := python3 git
FRESH_PKGS := debootstrap git
FUZZ_PKGS := clang libclang-rt-14-dev libomp-dev
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

# Install the Debian packages in $(1) that are missing (apt-get update only when needed).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
endef

.PHONY: all deps deps-test deps-bench deps-fuzz build test test-unit test-parity demo results bench fuzz fresh-check clean

all: build

deps:
	$(call apt_install,$(BUILD_PKGS) $(DATA_PKGS))

deps-test: deps
	$(call apt_install,$(TEST_PKGS))

deps-bench: deps
	$(call apt_install,$(BENCH_PKGS))

deps-fuzz: deps
	$(call apt_install,$(FUZZ_PKGS))

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

test-parity: build
	cd $(BUILD) && ctest --output-on-failure -L parity -j $(JOBS)

# The end-to-end demo (scripts/demo.sh; WSSS_QUICK=1 for the reduced profile).
demo: deps build
	bash scripts/demo.sh $(BUILD)/bin/wsss

# The accuracy table docs/results.md and docs/results.json (scripts/results.sh; under 2 hours).
results: deps build
	$(call apt_install,$(RESULTS_PKGS))
	bash scripts/results.sh $(BUILD)/bin/wsss

bench: deps-bench build
	bash bench/run.sh $(BUILD)

# The README's `make test` and `WSSS_QUICK=1 make demo` on a bare Debian 12 root (needs root).
fresh-check:
	$(call apt_install,$(FRESH_PKGS))
	bash scripts/fresh_check.sh

# Every libFuzzer harness (fuzz/) for FUZZ_SECONDS on its seed corpus; fails on any crash.
$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Release -DWSSS_FUZZ=ON

fuzz: deps-fuzz $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)
