#!/bin/bash
# run-tests.sh - run each module's Criterion binary, then print one synthesis
# line that adds up all of them (Criterion's own format), so that the last
# line of `make test` covers the whole suite.  Exit 1 if any binary failed.
set -u
tested=0 passing=0 failing=0 crashing=0 status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for bin in "$@"; do
	name=$(basename "$bin")
	echo "==> $name"
	"$bin" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep 'Synthesis: Tested:' | tail -n 1)
	if [ -z "$line" ]; then
		echo "run-tests: $name printed no synthesis line (exit $rc)" >&2
		crashing=$((crashing + 1))
		status=1
		continue
	fi
	read -r t p f c <<<"$(echo "$line" | sed 's/.*Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3 \4/')"
	tested=$((tested + t)) passing=$((passing + p)) failing=$((failing + f)) crashing=$((crashing + c))
	[ "$rc" -ne 0 ] && status=1
done
echo
echo "all modules ($#): $passing passed, $((failing + crashing)) failed"
echo "[====] Synthesis: Tested: $tested | Passing: $passing | Failing: $failing | Crashing: $crashing "
exit $status
