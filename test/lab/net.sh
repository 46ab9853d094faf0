#!/usr/bin/env bash
# The lab's network, built from network namespaces named PREFIX-*; nothing leaves them.
#
#   net.sh up PREFIX      build it (fails if any of it exists already)
#   net.sh down PREFIX    end every process inside PREFIX-* and remove the namespaces (idempotent)
#
#                     inet (a bridge: the lab's "internet", 10.200.0.0/24)
#        ┌──────────┬───────────┴───────────┬──────────────────┐
#   pub .10      r1 .1 (NAT)              r2 .2 (NAT)        line (delay/loss, line.py)
#   relay,       lan bridge 192.168.1.1    192.168.2.1          │
#   portal       ├─ h1  192.168.1.2        └─ h2 192.168.2.2   far .20
#                └─ h1b 192.168.1.3
#
# The routers masquerade what leaves through wan0 and drop every forwarded packet that is not
# from their LAN or part of a connection it opened, as a home router does: nothing on the
# internet side can open a connection to h1, h1b or h2. The line namespace is a host-less hop
# between far and the bridge; line.py carries its frames (the kernel may lack sch_netem).
set -euo pipefail
cmd=${1:?usage: net.sh up|down PREFIX}
P=${2:?usage: net.sh up|down PREFIX}
NAMES=(inet pub r1 r2 h1 h1b h2 line far)

down () {
  local n pids
  for n in "${NAMES[@]}"; do
    [ -e "/run/netns/$P-$n" ] || continue
    # Every process in our namespaces is one the lab started; end them before the namespace goes.
    pids=$(ip netns pids "$P-$n" || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    ip netns del "$P-$n"
  done
}

# veth NS_A IF_A NS_B IF_B: a cable between two namespaces, both ends up.
veth () {
  ip link add "$2" netns "$P-$1" type veth peer name "$4" netns "$P-$3"
  ip -n "$P-$1" link set "$2" up
  ip -n "$P-$3" link set "$4" up
}

# host NS ADDRESS/LEN GATEWAY: eth0's address and the default route.
host () {
  ip -n "$P-$1" addr add "$2" dev eth0
  ip -n "$P-$1" route add default via "$3"
}

# router NS LAN_IF: masquerade on wan0, forward only from the LAN or for connections it opened.
# (Frames bridged within the LAN pass this forward hook too, where br_netfilter is loaded.)
router () {
  ip netns exec "$P-$1" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$P-$1" nft -f - <<NFT
table ip lab_nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
}
table ip lab_filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "$2" oifname { "wan0", "$2" } accept
  }
}
NFT
}

up () {
  local n dev
  for n in "${NAMES[@]}"; do
    ip netns add "$P-$n"
    ip -n "$P-$n" link set lo up
  done
  ip -n "$P-inet" link add br0 type bridge
  ip -n "$P-inet" link set br0 up
  for n in pub r1 r2 line; do
    if [ "$n" = pub ]; then veth pub eth0 inet "to-$n"; elif [ "$n" = line ]; then veth line wan inet "to-$n"; else veth "$n" wan0 inet "to-$n"; fi
    ip -n "$P-inet" link set "to-$n" master br0
  done
  ip -n "$P-pub" addr add 10.200.0.10/24 dev eth0
  ip -n "$P-r1" addr add 10.200.0.1/24 dev wan0
  ip -n "$P-r2" addr add 10.200.0.2/24 dev wan0

  # r1's LAN: a bridge with h1 and h1b on it (a LAN broadcast reaches both).
  ip -n "$P-r1" link add lan type bridge
  ip -n "$P-r1" link set lan up
  ip -n "$P-r1" addr add 192.168.1.1/24 dev lan
  veth h1 eth0 r1 to-h1
  veth h1b eth0 r1 to-h1b
  ip -n "$P-r1" link set to-h1 master lan
  ip -n "$P-r1" link set to-h1b master lan
  host h1 192.168.1.2/24 192.168.1.1
  host h1b 192.168.1.3/24 192.168.1.1
  router r1 lan

  veth h2 eth0 r2 lan0
  ip -n "$P-r2" addr add 192.168.2.1/24 dev lan0
  host h2 192.168.2.2/24 192.168.2.1
  router r2 lan0

  # far reaches the bridge only through the line namespace's two ends (far-side, wan).
  veth far eth0 line near
  ip -n "$P-far" addr add 10.200.0.20/24 dev eth0

  # Frames that cross user space must be whole: no segmentation or checksum offloads on any
  # veth (a TSO frame is larger than the MTU, an offloaded checksum is not filled in yet).
  for n in "${NAMES[@]}"; do
    for dev in $(ip -n "$P-$n" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
      ip netns exec "$P-$n" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null
    done
  done
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "net.sh: unknown command $cmd (up or down)" >&2; exit 2 ;;
esac
