#!/usr/bin/env bash
# Provides a working `pulumi` CLI for the README's commands and the tests, without any download
# at run time (docs/ENGINE.md "The Pulumi engine, offline").
#
#   scripts/engine.sh            prints the directory to put first on PATH (builds it if needed)
#   scripts/engine.sh --check    exits 0 only if a usable engine is already there (no build)
#
# Order of preference:
#   1. a `pulumi` already on PATH whose version is compatible (what a Mac user with Homebrew has);
#   2. binaries built earlier into the cache below (a second run costs well under a second);
#   3. a build from Pulumi's Go modules through the Go module proxy (minutes, once per machine).
#
# What is built, and why this way:
#   - pulumi CLI: module github.com/pulumi/pulumi/pkg/v3 at PULUMI_CLI_VERSION. This is not the
#     version of the pinned @pulumi/pulumi: the newest SDK on the npm registry here is 3.270.0,
#     and the Go module proxy does not serve pkg/v3 v3.270.0, so the CLI is the nearest newer
#     tag it does serve. A CLI at least as new as the SDK is the pairing Pulumi supports (the
#     engine keeps speaking older SDKs' protocol). `go install mod@ver` refuses modules whose
#     go.mod has `replace` lines and pkg/go.mod has two (sdk => ../sdk, atotto/clipboard => a
#     fork), so it is built from a throwaway wrapper module that requires pkg/v3 and sdk/v3 at
#     the same tag (pkg/go.mod requires exactly that sdk/v3, which the proxy serves) and repeats
#     the non-local replace.
#   - pulumi-language-nodejs: since v3.69.0 it is its own module
#     (sdk/nodejs/cmd/pulumi-language-nodejs/v3, no tags of its own) and the module proxy here
#     refuses every pseudo-version of it (403 "This module version is not available", tried for
#     every release from v3.220.0 to v3.274.1). Up to v3.68.0 it was a package of sdk/v3, which the
#     proxy serves, so that is what we build. The engine starts a language host with only its
#     own address as argument and falls back to GetRequiredPlugins when GetRequiredPackages is
#     unimplemented (sdk/go/common/resource/plugin/langruntime_plugin.go), which is exactly what
#     this older host speaks. A Mac with Homebrew's pulumi uses its own matching host instead.
#     That host takes Pulumi.yaml's runtime options only as flags, which today's engine no longer
#     passes (it sends them with each run request): left alone it would register ts-node and load
#     the TypeScript compiler into every run although Pulumi.yaml says `typescript: false`
#     (stacks/main.cjs loads the program through tsx). So the binary is kept as
#     pulumi-language-nodejs-sdk-v<version>, and `pulumi-language-nodejs` is a two-line wrapper
#     that starts it with `-typescript=false`, as Pulumi.yaml asks.
#   - pulumi-resource-pulumi-nodejs: the dynamic-provider shim, a shell script shipped at the root
#     of the @pulumi/pulumi npm package; copied next to the CLI.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULUMI_CLI_VERSION="${PULUMI_CLI_VERSION:-3.274.1}" # >= @pulumi/pulumi in package.json, served as pkg/v3
LANGHOST_SDK_VERSION="3.68.0"                        # last sdk/v3 that contains the Node.js host
MIN_PATH_VERSION="3.146.0"                           # plugin console lines on the stack row (pulumi#18249, fixed by pulumi#18253)
GO_MIN_VERSION="1.26.6"                              # the `go` line of pkg/v3 v3.274.1's go.mod
cache="${COLIMA_PULSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/colima-pulse}"
bin="$cache/engine-v$PULUMI_CLI_VERSION/bin"

log() { printf 'engine: %s\n' "$*" >&2; }

version_ge() { # version_ge A B: A >= B (semver without pre-release)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

path_engine() { # a compatible pulumi on PATH, with its Node.js host beside it
  local p v
  p="$(command -v pulumi 2>/dev/null)" || return 1
  case "$p" in "$bin"/*) return 1 ;; esac
  v="$(PULUMI_SKIP_UPDATE_CHECK=true "$p" version 2>/dev/null | sed 's/^v//')" || return 1
  version_ge "$v" "$MIN_PATH_VERSION" || { log "ignoring $p: version $v < $MIN_PATH_VERSION"; return 1; }
  command -v pulumi-language-nodejs >/dev/null 2>&1 || { log "ignoring $p: no pulumi-language-nodejs beside it"; return 1; }
  dirname "$p"
}

langhost="pulumi-language-nodejs-sdk-v$LANGHOST_SDK_VERSION"

cached_engine() {
  # A cache from before the wrapper holds the host binary itself under the plain name.
  if [ ! -e "$bin/$langhost" ] && [ -x "$bin/pulumi-language-nodejs" ] && ! head -c2 "$bin/pulumi-language-nodejs" | grep -q '#!'; then
    mv "$bin/pulumi-language-nodejs" "$bin/$langhost"
  fi
  [ -x "$bin/pulumi" ] && [ -x "$bin/$langhost" ] || return 1
  wrapper
  echo "$bin"
}

wrapper() { # the host as the engine starts it, with Pulumi.yaml's `typescript: false` (see above)
  printf '#!/bin/sh\n# scripts/engine.sh: the Node.js host with Pulumi.yaml'"'"'s runtime option, which it only takes as a flag.\nexec "$(dirname "$0")/%s" -typescript=false "$@"\n' \
    "$langhost" >"$bin/pulumi-language-nodejs.new"
  chmod 0755 "$bin/pulumi-language-nodejs.new"
  mv "$bin/pulumi-language-nodejs.new" "$bin/pulumi-language-nodejs"
}

shim() { # the shim comes from the installed npm package, so it always matches the SDK in use
  local src="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
  [ -f "$src" ] || { log "missing $src: run 'npm ci' first"; return 1; }
  install -m 0755 "$src" "$bin/pulumi-resource-pulumi-nodejs"
}

build() {
  command -v go >/dev/null || { log "no 'go' on PATH: cannot build the engine"; return 1; }
  local work="$cache/build" gov
  # GOTOOLCHAIN=local below: an older Go must fail here, clearly, not fetch a toolchain.
  gov="$(go env GOVERSION | sed 's/^go//')"
  version_ge "$gov" "$GO_MIN_VERSION" || { log "go $gov is too old to build pulumi v$PULUMI_CLI_VERSION (needs >= $GO_MIN_VERSION)"; return 1; }
  mkdir -p "$bin" "$work/cli" "$work/langhost"
  export GOFLAGS="-mod=mod" GOTOOLCHAIN=local GOWORK=off

  log "building pulumi v$PULUMI_CLI_VERSION from the Go module proxy (once per machine)"
  cat >"$work/cli/go.mod" <<MOD
module colimapulse.local/engine/cli

go $GO_MIN_VERSION

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_CLI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_CLI_VERSION
)

// Repeated from pkg/go.mod at this tag (go builds ignore a dependency's replace lines).
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  (cd "$work/cli" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_CLI_VERSION" \
    && go build -trimpath -o "$bin/pulumi" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_CLI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)

  log "building pulumi-language-nodejs from sdk/v3 v$LANGHOST_SDK_VERSION"
  cat >"$work/langhost/go.mod" <<MOD
module colimapulse.local/engine/langhost

go 1.25

require github.com/pulumi/pulumi/sdk/v3 v$LANGHOST_SDK_VERSION

// Repeated from sdk/go.mod at that tag.
replace golang.org/x/text => golang.org/x/text v0.3.6
MOD
  (cd "$work/langhost" && go get "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@v$LANGHOST_SDK_VERSION" \
    && go build -trimpath -o "$bin/$langhost" -ldflags "-s -w" \
      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
  shim
}

main() {
  local dir
  if dir="$(path_engine)"; then echo "$dir"; return; fi
  if dir="$(cached_engine)"; then shim; echo "$dir"; return; fi
  [ "${1:-}" = "--check" ] && return 1
  build
  cached_engine
}
main "$@"
