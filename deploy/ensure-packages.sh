#!/bin/sh
# Installs the Debian packages named in $DEPS that are missing. As root it runs apt-get; otherwise
# it prints the exact command to run and fails, so nothing is half-installed behind your back.
# A package whose command is already on the PATH from elsewhere (Node.js and npm from another
# source, say) counts as present: installing Debian's over it would conflict.
set -eu
has_command() {
  case "$1" in
    nodejs) command -v node >/dev/null 2>&1 ;;
    npm) command -v npm >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}
missing=""
for p in $DEPS; do
  if has_command "$p"; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "rahnama needs these Debian packages:$missing" >&2
  echo "Run:  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
