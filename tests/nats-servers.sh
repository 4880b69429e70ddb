#!/usr/bin/env bash
# Puts the nats-server generations the suite runs against into a cache folder and prints where.
#
#   tests/nats-servers.sh            fetch what is missing, print "<generation> <binary>" per line
#   tests/nats-servers.sh --check    fetch nothing; exit 1 when a generation is missing
#
# A generation it cannot get is named on stderr without failing the script: the tests skip that generation
# with the same hint, and fail in CI (CI=true), where nothing may be skipped.
#
# 2.9   the installed Debian package (apt-get install -y nats-server: bookworm's 2.9.10)
# 2.10  Debian trixie's nats-server package (2.10.x)
# 2.15  Debian sid's nats-server package (2.15.x)
#
# The newer packages are fetched with `apt-get download` under a private sources list, state and
# cache (nothing of the machine's apt set-up changes), from the Debian archive this machine's own
# apt sources name, and unpacked with `dpkg-deb -x` into
#   ${JS_RECOVER_SERVERS:-$HOME/.cache/js-recover/nats-servers}/<suite>/usr/sbin/nats-server
# The tests find them there (or where JS_RECOVER_SERVERS points). Idempotent: a fetched
# generation is kept.
set -euo pipefail

cache="${JS_RECOVER_SERVERS:-$HOME/.cache/js-recover/nats-servers}"
check_only=false
[ "${1:-}" = "--check" ] && check_only=true

# The Debian archive as this machine's apt sources name it (deb822 or one-line format).
debian_archive() {
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
  } | grep -E '/debian/?$' | grep -v security | head -n 1
}

fetch() { # suite
  local suite="$1" dir="$cache/$1" work archive deb
  [ -x "$dir/usr/sbin/nats-server" ] && return 0
  archive="$(debian_archive)"
  if [ -z "$archive" ]; then
    echo "nats-servers: no Debian archive in this machine's apt sources; cannot fetch $suite" >&2
    return 1
  fi
  work="$(mktemp -d)"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive $suite main" > "$work/etc/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$work/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1")
  echo "nats-servers: fetching nats-server from Debian $suite" >&2
  if ! apt-get "${opts[@]}" -qq update >"$work/log" 2>&1 \
     || ! (cd "$work" && apt-get "${opts[@]}" -qq download nats-server >>"$work/log" 2>&1); then
    cat "$work/log" >&2
    echo "nats-servers: could not fetch nats-server from Debian $suite (apt's output above)" >&2
    rm -rf "$work"
    return 1
  fi
  deb="$(ls "$work"/nats-server_*.deb | head -n 1)"
  mkdir -p "$cache"
  rm -rf "$dir.partial"
  dpkg-deb -x "$deb" "$dir.partial"
  basename "$deb" > "$dir.partial/PACKAGE"
  mv "$dir.partial" "$dir"
  rm -rf "$work"
}

installed="$(command -v nats-server || true)"
[ -z "$installed" ] && [ -x /usr/sbin/nats-server ] && installed=/usr/sbin/nats-server
missing=0
if [ -n "$installed" ]; then echo "2.9 $installed"; else
  echo "nats-servers: 2.9 missing: apt-get install -y nats-server" >&2; missing=1; fi
for pair in 2.10:trixie 2.15:sid; do
  gen="${pair%%:*}" suite="${pair#*:}"
  $check_only || fetch "$suite" || true
  if [ -x "$cache/$suite/usr/sbin/nats-server" ]; then echo "$gen $cache/$suite/usr/sbin/nats-server"; else
    echo "nats-servers: $gen missing: run tests/nats-servers.sh" >&2; missing=1; fi
done
if $check_only; then exit "$missing"; fi
