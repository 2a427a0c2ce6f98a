# Shared by scripts/converge.sh and scripts/test.sh: install what this checkout needs and put
# the engine on PATH. Sourced, not run.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_node() {
  command -v node >/dev/null || die "Node.js is not installed (need >= 20.11)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=11)?0:1)' \
    || die "Node.js $(node --version) is too old (need >= 20.11)"
}

ensure_node_modules() { # npm ci when node_modules is missing or older than the lockfile
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund >&2
  fi
}

ensure_engine() { # pulumi CLI, Node.js language host and dynamic-provider shim, first on PATH
  local dir
  dir="$(bash scripts/engine.sh)" || die "no Pulumi engine: see the messages above (scripts/engine.sh)"
  export PATH="$dir:$PATH"
  # Nothing may download at run time: no update check, no automatic plugin download.
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  say "pulumi $(pulumi version) from $dir"
}

ensure_local_state() { # the local backend's folder and passphrase (README: "State and secrets")
  mkdir -p "$repo/.state/backend"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    local file="$repo/.state/passphrase"
    if [ ! -f "$file" ]; then
      (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64"))' >"$file")
      say "created $file (keep it: it decrypts this checkout's stack secrets)"
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
  fi
}
