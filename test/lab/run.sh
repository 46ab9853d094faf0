#!/usr/bin/env bash
# npm run test:lab: the network lab. Builds the namespaces of net.sh (NAT routers, a public host,
# a LAN, a slow lossy line), runs test/lab/*.lab.ts with mocha against them, and removes every
# namespace and the processes in them on the way out, however the run ends.
#
# Needs root, iproute2, nftables, ethtool and python3 (.ci/run installs them). Where the machine
# cannot run it, it prints "skipped: <why>" and counts nothing as passed; under CI=true a lab that
# cannot run is a failure, since CI must run it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
SCENARIOS=4
# The whole run's bound; the tests themselves take well under a minute.
LIMIT_S=240
prefix="shslab$$"
probe="$prefix-probe"
mocha_pid=""

skip () {
  echo "network lab skipped: $1"
  if [ "${CI:-}" = true ]; then
    echo "  0 passing"
    echo "  1 failing (CI must run the network lab: $1)"
    exit 1
  fi
  echo "  0 passing"
  echo "  $SCENARIOS pending (skipped: $1)"
  exit 0
}

cleanup () {
  [ -z "$mocha_pid" ] || kill "$mocha_pid" 2>/dev/null
  bash "$here/net.sh" down "$prefix"
  ip netns del "$probe" 2>/dev/null || true
}

[ "$(id -u)" = 0 ] || skip "it needs root (network namespaces, nftables); CI runs it as root"
for tool in ip nft ethtool; do
  command -v "$tool" >/dev/null || skip "$tool is missing (Debian: apt-get install iproute2 nftables ethtool)"
done
python=$(command -v /usr/bin/python3 || command -v python3) || skip "python3 is missing (Debian: apt-get install python3)"

trap cleanup EXIT
trap 'exit 130' INT TERM
# A namespace with an nftables table in it: what the lab needs of the kernel.
ip netns add "$probe" 2>/dev/null || skip "this machine cannot create network namespaces (ip netns add failed)"
ip netns exec "$probe" nft add table ip probe 2>/dev/null || skip "nftables does not work inside a network namespace here"
ip netns del "$probe"

started=$(date +%s)
bash "$here/net.sh" up "$prefix" || { echo "network lab: building the namespaces failed"; echo "  0 passing"; echo "  1 failing"; exit 1; }
SHS_LAB_PREFIX=$prefix SHS_LAB_PYTHON=$python timeout -k 5 "$LIMIT_S" \
  node_modules/.bin/node node_modules/mocha/bin/mocha.js --no-config --node-option conditions=shs-source --extension ts --timeout 120000 'test/lab/*.lab.ts' &
mocha_pid=$!
wait "$mocha_pid"
status=$?
mocha_pid=""
[ "$status" -ne 124 ] || { echo "network lab: still running after $LIMIT_S s, stopped"; echo "  1 failing"; }
echo "network lab: $(( $(date +%s) - started )) s"
exit "$status"
