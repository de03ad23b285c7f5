#!/bin/sh
# bench-tools.sh - prepare the trees `make bench-tools` measures on, then run
# build/bench-tools on them and print the machine it ran on.
#
#   scripts/bench-tools.sh BENCH_BIN [ROUNDS]
#
# Trees (kept in $BENCH_TOOLS_DIR, default /tmp/plait-bench-tools, and
# reused: copying and committing /usr/include takes a minute):
#   include/  /usr/include in a git repository (search against rg)
#   py100k/   Python 3.11's top-level standard library modules, in name
#             order, up to 100,000 lines, in a git repository (repo_map)
#   outline/  PyTorch's testing/_internal/common_methods_invocations.py,
#             18,169 lines, the largest real Python file on the machine
#             over 10,000 lines with many definitions (outline)
set -eu
BIN=$1
ROUNDS=${2:-5}
DIR=${BENCH_TOOLS_DIR:-/tmp/plait-bench-tools}
command -v rg >/dev/null 2>&1 || { echo "bench-tools: rg not found (make deps installs ripgrep)" >&2; exit 1; }
mkdir -p "$DIR"
commit() {
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" -c user.name=bench -c user.email=bench@plait -c commit.gpgsign=false commit -qm tree
}
if [ ! -f "$DIR/include.done" ]; then
	rm -rf "$DIR/include"
	cp -a /usr/include "$DIR/include"
	commit "$DIR/include"
	touch "$DIR/include.done"
fi
if [ ! -f "$DIR/py100k.done" ]; then
	rm -rf "$DIR/py100k"
	mkdir -p "$DIR/py100k"
	total=0
	for f in $(ls /usr/lib/python3.11/*.py | LC_ALL=C sort); do
		[ "$total" -ge 100000 ] && break
		cp "$f" "$DIR/py100k/"
		total=$((total + $(wc -l < "$f")))
	done
	commit "$DIR/py100k"
	touch "$DIR/py100k.done"
fi
SRC=/usr/lib/python3/dist-packages/torch/testing/_internal/common_methods_invocations.py
OUT=common_methods_invocations.py
if [ ! -f "$DIR/outline-torch.done" ]; then
	[ -f "$SRC" ] || { echo "bench-tools: $SRC not found (make deps installs python3-torch)" >&2; exit 1; }
	rm -rf "$DIR/outline"
	mkdir -p "$DIR/outline"
	cp "$SRC" "$DIR/outline/$OUT"
	commit "$DIR/outline"
	touch "$DIR/outline-torch.done"
fi
echo "## make bench-tools ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- include/: $(git -C "$DIR/include" ls-files | wc -l) files, $(du -sh --apparent-size "$DIR/include" | cut -f1) ; py100k/: $(ls "$DIR/py100k" | wc -l) files, $(cat "$DIR/py100k"/*.py | wc -l) lines; outline file: $OUT, $(wc -l < "$DIR/outline/$OUT") lines"
echo "- rg: $(rg --version | sed -n 1p); $ROUNDS rounds per case"
echo
"$BIN" "$DIR/include" "$DIR/py100k" "$DIR/outline" "$OUT" "$ROUNDS"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
