#!/usr/bin/env bash
# Installs what a fresh Debian machine is missing for the local stack, then the
# pinned npm tools (deno, supabase CLI). Safe to run again: it only installs
# what is absent. As root it installs Debian packages; otherwise it names them.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  postgresql-15
  postgresql-15-cron
  postgresql-15-pgtap
  postgresql-15-plpgsql-check
  libtap-parser-sourcehandler-pgtap-perl
  radicale
)

missing=()
for pkg in "${debian_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: these Debian packages are missing: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# The cluster runs as the 'postgres' OS user when we are root (initdb refuses
# root); the Debian package creates that user, a bare machine may not have it.
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# npm ci again only when the lock file changed since the last install.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/deno || ! -x node_modules/.bin/supabase ]] ||
  [[ "$(cat node_modules/.bootstrap-lock 2>/dev/null)" != "$lock_sum" ]]; then
  echo "bootstrap: installing npm dependencies (deno, supabase CLI)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" >node_modules/.bootstrap-lock
fi
