#!/usr/bin/env bash
# Installs what building and testing Orgpass needs on a fresh Debian machine with Rust and Node.
# Idempotent: each step checks first and says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130

step() { printf '\n==> %s\n' "$*"; }
skip() { printf '    already there: %s\n' "$*"; }

step "Rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  skip "wasm32-unknown-unknown"
else
  rustup target add wasm32-unknown-unknown
fi

step "cargo-leptos ${CARGO_LEPTOS_VERSION}"
if cargo leptos --version 2>/dev/null | grep -q "${CARGO_LEPTOS_VERSION}"; then
  skip "$(cargo leptos --version)"
else
  echo "    building from crates.io (about 13 minutes on 2 cores, once per machine)"
  # no_downloads: a missing tool becomes a clear error instead of a download attempt.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --version "${CARGO_LEPTOS_VERSION}" --features no_downloads
fi

step "wasm-bindgen-cli ${WASM_BINDGEN_VERSION}"
if wasm-bindgen --version 2>/dev/null | grep -q "${WASM_BINDGEN_VERSION}"; then
  skip "$(wasm-bindgen --version)"
else
  echo "    building from crates.io (about 3 minutes)"
  # Not --locked: its lockfile pins a webpki-roots the registry no longer has.
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
fi

step "Chromium for the browser tests (Debian package)"
if [ -x /usr/bin/chromium ]; then
  skip "$(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

step "npm packages in end2end/ (oidc-provider, Playwright, binaryen's wasm-opt)"
if [ -f end2end/node_modules/.package-lock.json ] \
  && cmp -s end2end/package-lock.json end2end/node_modules/.orgpass-installed-lock; then
  skip "end2end/node_modules matches package-lock.json"
else
  (cd end2end && npm ci --no-audit --no-fund)
  cp end2end/package-lock.json end2end/node_modules/.orgpass-installed-lock
fi

printf '\n==> tools ready\n'
