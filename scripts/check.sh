#!/bin/bash
# check.sh - the house rules that the build can check (make check; make test
# runs it first).  Reads the built archives, so it checks what is compiled,
# not what a regular expression guesses from the sources:
#
#  1. prefixes: every global symbol a library defines carries its module's
#     prefix (pl_, eng_, sbx_, img_, tools_, agent_, bench_, cli_); internal
#     cross-file helpers use the internal form (eng__x), and a symbol with
#     the public form (eng_x) is declared in the module's public header;
#  2. no loops: within a module, "file A uses a symbol file B defines" never
#     comes back to A (each module is layered, bottom to top);
#  3. libraries print nothing and parse no argv: no library but cli/
#     references stdout, printf, puts, putchar or getopt;
#  4. the CUDA module exports its versioned entry points only.
#
# usage: scripts/check.sh [BUILD_DIR]   (default: build)
# CHECK_MODULES="common tools" limits it to those modules (tests/build uses
# that to check a doctored copy of one archive).
# Exit 0 when every rule holds, else 1 with one line per violation.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0

fail() {
	echo "check: $*" >&2
	status=1
}

# module prefix header
modules="common pl common/common.h
engine eng engine/engine.h
sandbox sbx sandbox/sandbox.h
image img image/image.h
tools tools tools/tools.h
agent agent agent/agent.h
bench-harness bench bench-harness/bench.h
cli cli cli/cli.h"

checked=0
while read -r mod prefix header; do
	if [ -n "${CHECK_MODULES:-}" ] && ! echo " $CHECK_MODULES " | grep -q " $mod "; then
		continue
	fi
	lib=$build/lib/libplait-$mod.a
	[ -f "$lib" ] || { fail "$lib is missing (build first: make)"; continue; }
	checked=$((checked + 1))
	# "member symbol" for every global definition (weak and common included)
	# (AddressSanitizer adds an ODR indicator, __odr_asan.NAME, per global)
	defs=$(nm -A --defined-only -g "$lib" 2>/dev/null |
		awk '{ split($1, p, ":"); print p[2], $NF }' | grep -v ' __odr_asan')
	# 1. prefixes and the public header
	while read -r member sym; do
		[ -n "$sym" ] || continue
		case $sym in
		"${prefix}__"*) ;;
		"${prefix}_"*)
			grep -qw -- "$sym" "$root/$header" ||
				fail "$mod: $sym ($member) has the public prefix but $header does not declare it" \
					"(an internal helper is ${prefix}__${sym#"${prefix}"_}, or static)"
			;;
		*) fail "$mod: $sym ($member) lacks the prefix ${prefix}_ (or ${prefix}__ for an internal helper)" ;;
		esac
	done <<<"$defs"
	# 2. the file graph of the module is acyclic
	edges=$(nm -A -u "$lib" 2>/dev/null | awk '{ split($1, p, ":"); print p[2], $NF }' |
		awk 'NR == FNR { def[$2] = $1; next } ($2 in def) && def[$2] != $1 { print $1, def[$2] }' \
			<(echo "$defs") - | sort -u)
	if [ -n "$edges" ] && ! echo "$edges" | tsort >/dev/null 2>&1; then
		# tsort names the files of one loop: "tsort: a.o" after its header
		loop=$(echo "$edges" | tsort 2>&1 >/dev/null |
			sed -n '/input contains a loop/,$ { /input contains a loop/d; s/^tsort: //p }' | sort -u)
		fail "$mod: its source files call each other in a loop: $(echo $loop)"
		# each edge between two files of the loop, with one symbol it uses
		for a in $loop; do
			for b in $loop; do
				sym=$(nm -A -u "$lib" 2>/dev/null | awk -v a="$a" '{ split($1, p, ":"); if (p[2] == a) print $NF }' |
					grep -xF -f <(echo "$defs" | awk -v b="$b" '$1 == b { print $2 }') | head -n 1)
				[ -n "$sym" ] && echo "check:     $a -> $b ($sym)" >&2
			done
		done
	fi
	# 3. no printing to stdout, no argv parsing below cli/
	if [ "$mod" != cli ]; then
		while read -r member sym; do
			[ -n "$sym" ] &&
				fail "$mod: $member uses $sym (libraries print nothing to stdout and parse no argv: cli/ does)"
		done < <(nm -A -u "$lib" 2>/dev/null | awk '{ split($1, p, ":"); print p[2], $NF }' |
			grep -E ' (stdout|printf|puts|putchar|vprintf|getopt|getopt_long)$')
	fi
done <<<"$modules"

# 4. the CUDA module, when built
cuda=$build/lib/libplait-cuda.so
if [ -f "$cuda" ] && { [ -z "${CHECK_MODULES:-}" ] || echo " $CHECK_MODULES " | grep -q " engine "; }; then
	for sym in $(nm -D --defined-only "$cuda" | awk '$2 ~ /[TDBR]/ { print $3 }'); do
		case $sym in
		eng_cuda_module_v[0-9]*) grep -qw -- "$sym" "$root/engine/cuda/module.h" ||
			fail "libplait-cuda.so: $sym is not declared in engine/cuda/module.h" ;;
		*) fail "libplait-cuda.so exports $sym (only its versioned eng_cuda_module_vN entry points may be exported)" ;;
		esac
	done
fi

if [ $status -eq 0 ]; then
	echo "check: $checked libraries: prefixes, public headers, no loops between files, nothing printed below cli/"
fi
exit $status
