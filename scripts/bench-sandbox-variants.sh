#!/bin/bash
# bench-sandbox-variants.sh - what a fresh sandbox costs on this machine,
# piece by piece: the program starts, bwrap with and without plait's
# set-up, plait with and without a network namespace, and util-linux
# unshare (the namespaces alone, no mount work).  A shell loop of N runs
# each; the loop's own fork/exec is in every row, so read differences.
#
#   scripts/bench-sandbox-variants.sh [PLAIT_BIN] [N]
set -eu
P=${1:-build/plait}
N=${2:-300}
for c in bwrap unshare; do
	command -v "$c" >/dev/null || { echo "bench-sandbox-variants: $c not found" >&2; exit 1; }
done
t() { # label, command...
	local n=$1 s e
	shift
	s=$(date +%s%N)
	for _ in $(seq "$N"); do "$@" >/dev/null 2>&1; done
	e=$(date +%s%N)
	printf "%-72s %6d us\n" "$n" $(((e - s) / N / 1000))
}
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); $N runs each"
t "/bin/true" /bin/true
t "plait --version" "$P" --version
t "bwrap --unshare-all --ro-bind / / /bin/true" bwrap --unshare-all --ro-bind / / /bin/true
t "bwrap ... --proc /proc --dev /dev --tmpfs /tmp /bin/true" \
	bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp /bin/true
t "plait sandbox run -- /bin/true" "$P" sandbox run -- /bin/true
t "plait sandbox run --net -- /bin/true" "$P" sandbox run --net -- /bin/true
t "unshare -U -r -m -p -f -n -i -u /bin/true" unshare -U -r -m -p -f -n -i -u /bin/true
t "unshare -U -r -m -p -f -i -u /bin/true (no network namespace)" unshare -U -r -m -p -f -i -u /bin/true
