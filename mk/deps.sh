#!/bin/sh
# Install the Debian packages socklab needs, when any is missing.
# As root it runs apt-get; otherwise it prints the command to run and fails.
#   sh mk/deps.sh           everything: grading, the test suite, benchmarks
#   sh mk/deps.sh --grader  only what grading needs (the Gradescope image's setup.sh)
set -eu

# What grader/grade uses: compilers and libraries for the labs and the Windows build,
# Debian's python3, and what confines and isolates student code.
GRADER="build-essential libcriterion-dev libcjson-dev libssl-dev python3 bubblewrap iproute2
  util-linux procps gcc-mingw-w64-x86-64 wine"
# What the project's own tests and tools add: pytest, GNU patch (the buggy fixtures), the
# commands the walkthroughs use, load for bench/soak, a browser for the class report's test.
DEVELOP="python3-pytest patch netcat-openbsd socat stress-ng chromium chromium-driver"

case "${1:-}" in
    --grader) PACKAGES=$GRADER ;;
    "") PACKAGES="$GRADER $DEVELOP" ;;
    *) echo "usage: sh mk/deps.sh [--grader]" >&2; exit 2 ;;
esac

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
