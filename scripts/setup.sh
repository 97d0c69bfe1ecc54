#!/usr/bin/env bash
# Installs what the project and its lab need on Debian 12 (as root), then the npm packages. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# ansible-core (2.14) and ansible-mitogen (its mitogen_linear strategy): scripts/bench.ts compares the runner with both.
debs=(nebula dropbear-bin busybox openssh-server openssh-client iproute2 nftables iperf3
      iputils-ping ansible-core ansible-mitogen prometheus prometheus-alertmanager prometheus-node-exporter dnsmasq-base procps
      util-linux curl
      docker-compose bind9-dnsutils redis-server
      conntrack)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The commands bundled once (dist/<command>.mjs): --help and a bad flag answer in node's own start time, not tsx's
# seconds; a launcher rebuilds first when a source changed. `npx tsx tasks/<command>.ts` stays equivalent.
node --import tsx scripts/build.ts
