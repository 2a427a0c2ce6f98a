#!/usr/bin/env bash
# The benchmark (bench/run.ts): installs what it needs, starts the test services, prints the
# table; `npm run bench -- --write` also stores it in bench/RESULTS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_node_modules
ensure_engine
exec test/services/services.sh run -- npx tsx bench/run.ts "$@"
