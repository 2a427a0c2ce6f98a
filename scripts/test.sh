#!/usr/bin/env bash
# The full test suite (README, second command; .ci/run runs this). Installs what it needs, starts
# the real test services, runs typecheck, lint and every test, and stops the services again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_node
ensure_node_modules
ensure_engine

say "typecheck (tsc, strict) and lint (biome)"
npx tsc -p tsconfig.json --noEmit --noCheck false
npx biome check .

say "starting test services (dockerd, registry)"
trap 'test/services/services.sh stop' EXIT
envfile="$(test/services/services.sh start)"
set -a; source "$envfile"; set +a

say "running tests"
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec "$@" "${files[@]}"
