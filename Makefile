# simforecast: the two commands of the README are `make demo` and `make test`.
# Everything they need is installed into the project (./.venv, ./build); nothing by hand.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
PYTHON ?= python3
BUILD ?= build
export CARGO_TERM_COLOR ?= never

.PHONY: all test demo check-tools rust-check rust-test golden header bench clean

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

## header: regenerate include/simforecast.h with cbindgen (via build.rs)
header:
	$(CARGO) build --release --lib
	cp "$$(ls -td target/release/build/simforecast-*/out/simforecast.h | head -1)" include/simforecast.h

## test: every test; exits non-zero on any failure
test: rust-check rust-test golden
	@echo "==> all tests passed"

clean:
	rm -rf $(BUILD)
	$(CARGO) clean

## bench: monitor push/decision costs and training time (criterion; ratios, not unit tests)
bench: check-tools
	$(CARGO) bench --bench monitor
