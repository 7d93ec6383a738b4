#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs what the tests need, then
# checks formatting and lints, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/install-deps.sh

# Every test's scratch files (servers' data directories, browsers' profiles, archives) go
# under one directory of this run, removed when the run ends, however it ends: runs on a
# long-lived machine leave nothing behind in the system's temporary directory.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tidewatch-tests.XXXXXX")
# As the system's own: the throwaway PostgreSQL server runs as its own user.
chmod 1777 "$scratch"
# (A server a test started may still be stopping: what it leaves is not the run's failure.)
trap 'rm -rf "$scratch" 2>/dev/null || true' EXIT
export TMPDIR="$scratch"

# A build of every test binary needs several GiB: say how much there is before it starts, so a
# full disk reads as such and not as a linker crash.
df -h . >&2

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --locked
# The console's store tests again on PostgreSQL (a throwaway server the tests start): one
# store, two engines, the same tests.
echo "== cargo test (console store on PostgreSQL)" >&2
TIDEWATCH_TEST_STORE=postgres cargo test -p ops-console --lib --locked
