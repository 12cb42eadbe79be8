#!/bin/sh
# Runs the egress end-to-end tests in a network and mount namespace of their own: the action adds
# iptables rules for the agent's uid there, never in this machine's namespace. The scripted model,
# the fake results service and the fake GitHub API run in the vitest process, so they share it.
# The namespace has no way out: the Codex and Node 24 caches must already be filled (npm test runs
# the main suite first, which fills them).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED the egress end-to-end tests: they need root to make a network namespace and add iptables rules in it (running as uid $(id -u))."
  exit 0
fi
for tool in unshare ip iptables ip6tables; do
  command -v "$tool" >/dev/null || { echo "The egress end-to-end tests need '$tool' (apt-get install iptables iproute2 util-linux)." >&2; exit 1; }
done
# The tests check they are in the namespaces named here before they add any rule.
exec unshare --net --mount --propagation private -- sh -c '
  ip link set lo up
  CODEX_ACTION_TEST_NAMESPACES="$(readlink /proc/self/ns/net) $(readlink /proc/self/ns/mnt)" exec npx vitest run --config vitest.egress.config.ts "$@"' sh "$@"
