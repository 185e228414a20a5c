# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Host builds share cargo-leptos's cache only with the same cfg (see README, Toolchain).
export RUSTFLAGS := --cfg erase_components
# npm's binaryen provides the wasm-opt that cargo-leptos runs; Debian's is too old.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(PATH)

.PHONY: help run test tools build lint unit e2e release fuzz

help:
	@echo "make run    build, start the Okta simulator and Orgpass on SQLite, print the URL"
	@echo "make test   format, lint, unit, integration and browser tests"

tools:
	@bash .ci/install-tools.sh

# --split: the admin pages' wasm chunks (app/src/pages/settings) are separate files.
build: tools
	cargo leptos build --split

run: build
	node end2end/stack.mjs --config end2end/simulator/demo.json --listen 127.0.0.1:3000 --data-dir data

lint: tools
	cargo fmt --all --check
	cargo clippy -p app -p server --features app/ssr --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# The server's tests run twice: on SQLite, then on PostgreSQL when ORGPASS_TEST_DATABASE_URL
# names a server whose user may create databases (each test gets its own, dropped after).
unit: tools
	cargo test -p app --features ssr
	cargo test -p server
	@if [ -n "$$ORGPASS_TEST_DATABASE_URL" ]; then \
	  echo "==> the server's tests again, on PostgreSQL"; \
	  ORGPASS_TEST_STORAGE=postgres cargo test -p server; \
	else \
	  echo "NOTICE: ORGPASS_TEST_DATABASE_URL is unset, so the PostgreSQL pass is SKIPPED;"; \
	  echo "        e.g. ORGPASS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test"; \
	fi
	cd end2end && node --test simulator/

e2e: build
	cd end2end && npx playwright test

test: lint unit e2e
	@echo "all tests passed"

release: tools
	cargo leptos build --release --split

# The property tests (README, Tests) for ~10 minutes, in rounds of FUZZ_CASES new random cases each.
FUZZ_SECONDS ?= 600
FUZZ_CASES ?= 4096
fuzz:
	@start=$$SECONDS; rounds=0; \
	while [ $$((SECONDS - start)) -lt $(FUZZ_SECONDS) ]; do \
	  rounds=$$((rounds + 1)); \
	  echo "==> fuzz round $$rounds: $(FUZZ_CASES) cases per property"; \
	  PROPTEST_CASES=$(FUZZ_CASES) cargo test -q -p app --features ssr properties:: || exit 1; \
	  PROPTEST_CASES=$(FUZZ_CASES) cargo test -q -p server --lib properties:: || exit 1; \
	done; \
	echo "fuzz: $$rounds round(s), $$((rounds * $(FUZZ_CASES))) cases per property, $$((SECONDS - start)) s"
