#!/bin/sh
# Install the Debian packages socklab needs, when any is missing.
# As root it runs apt-get; otherwise it prints the command to run and fails.
set -eu

PACKAGES="build-essential libcriterion-dev libcjson-dev libssl-dev python3 python3-pytest patch
  bubblewrap iproute2 util-linux procps netcat-openbsd socat stress-ng chromium chromium-driver gcc-mingw-w64-x86-64 wine"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done

[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # one word per package
apt-get install -y -q --no-install-recommends $missing
