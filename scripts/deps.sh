#!/bin/sh
# deps.sh - install what deps.txt lists: missing Debian packages, then the
# pinned tree-sitter grammar packages from npm into .deps/grammars/, then the
# test-only Node packages (the reference MCP client) into .deps/node/.
#
#   scripts/deps.sh            install what is missing (idempotent, fast when done)
#   scripts/deps.sh --check    only report what is missing; exit 1 if anything is
#   scripts/deps.sh --grammars only the grammar packages (what the build itself needs)
set -eu
cd "$(dirname "$0")/.."
LIST=deps.txt
DEST=.deps/grammars
check_only=0
grammars_only=0
case "${1:-}" in
--check) check_only=1 ;;
--grammars) grammars_only=1 ;;
"") ;;
*) echo "usage: scripts/deps.sh [--check | --grammars]" >&2; exit 2 ;;
esac

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# ---- Debian packages
missing=""
[ $grammars_only = 1 ] && LIST_DEB=/dev/null || LIST_DEB=$LIST
for entry in $(awk '$1 == "deb" { c = ($3 ~ /^cmd=/) ? substr($3, 5) : ""; print $2 ":" c }' "$LIST_DEB"); do
	p=${entry%%:*}
	cmd=${entry#*:}
	if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
		continue
	fi
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ $check_only = 1 ]; then
		say "missing Debian packages:$missing"
	else
		if [ "$(id -u)" = 0 ]; then
			SUDO=""
		elif command -v sudo >/dev/null 2>&1; then
			SUDO="sudo"
		else
			die "missing Debian packages:$missing; run as root: apt-get install$missing"
		fi
		say "installing Debian packages:$missing"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
		# shellcheck disable=SC2086
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	fi
fi

# ---- npm grammar packages, each checked against its pinned integrity
pins=$(awk '$1 == "npm" { print $2, $3, $4 }' "$LIST")
grammars_missing=""
tmp=""
trap '[ -n "$tmp" ] && rm -rf "$tmp"' EXIT
while read -r name ver integrity; do
	[ -n "$name" ] || continue
	dir="$DEST/$name"
	if [ -f "$dir/.pinned" ] && [ "$(cat "$dir/.pinned")" = "$ver $integrity" ]; then
		continue
	fi
	if [ $check_only = 1 ]; then
		grammars_missing="$grammars_missing $name@$ver"
		continue
	fi
	command -v npm >/dev/null 2>&1 || die "npm is not installed; run 'make deps' as root"
	command -v openssl >/dev/null 2>&1 || die "openssl is not installed; run 'make deps' as root"
	say "fetching $name@$ver"
	tmp=$(mktemp -d)
	if ! (cd "$tmp" && npm pack --loglevel=error "$name@$ver" >/dev/null 2>"$tmp/npm.err"); then
		sed 's/^/  npm: /' "$tmp/npm.err" >&2
		die "npm pack $name@$ver failed: is the npm registry reachable, and does npm trust this network's TLS certificates (npm config get cafile)?"
	fi
	tgz=$(ls "$tmp"/*.tgz)
	got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
	[ "$got" = "$integrity" ] || die "$name@$ver: integrity mismatch (got $got, pinned $integrity)"
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xzf "$tgz" -C "$dir" --strip-components=1 --no-same-owner
	echo "$ver $integrity" >"$dir/.pinned"
	rm -rf "$tmp"
	tmp=""
done <<EOP
$pins
EOP

# ---- test-only Node packages: each tarball checked against its pinned
# integrity and unpacked at the path npm would give it, so that Node's own
# resolution finds every dependency; nothing runs at install time (no
# package scripts) and nothing is fetched when the tests run.
NODE_DEST=.deps/node/node_modules
node_missing=""
node_todo=""
redo="" # packages to unpack again: what npm nested inside them goes with them
if [ $grammars_only = 0 ]; then
	# deps.txt lists a package before the ones nested in it (sorted by path)
	while read -r path ver integrity; do
		[ -n "$path" ] || continue
		nested=0
		for r in $redo; do
			case $path in "$r"/node_modules/*) nested=1 ;; esac
		done
		if [ $nested = 0 ] && [ -f "$NODE_DEST/$path/.pinned" ] &&
			[ "$(cat "$NODE_DEST/$path/.pinned")" = "$ver $integrity" ]; then
			continue
		fi
		redo="$redo $path"
		node_missing="$node_missing ${path##*node_modules/}@$ver"
		node_todo="$node_todo$path $ver $integrity
"
	done <<EOP
$(awk '$1 == "node" { print $2, $3, $4 }' "$LIST")
EOP
fi
if [ -n "$node_todo" ] && [ $check_only = 0 ]; then
	command -v npm >/dev/null 2>&1 || die "npm is not installed; run 'make deps' as root"
	command -v openssl >/dev/null 2>&1 || die "openssl is not installed; run 'make deps' as root"
	tmp=$(mktemp -d)
	# one npm pack for every missing package (a version nested in several
	# places is fetched once)
	specs=$(printf '%s' "$node_todo" | awk '{ n = $1; sub(/.*node_modules\//, "", n); print n "@" $2 }' | sort -u)
	say "fetching $(echo "$specs" | wc -l) Node packages for the tests"
	# shellcheck disable=SC2086
	if ! (cd "$tmp" && npm pack --loglevel=error $specs >/dev/null 2>"$tmp/npm.err"); then
		sed 's/^/  npm: /' "$tmp/npm.err" >&2
		die "npm pack failed: is the npm registry reachable, and does npm trust this network's TLS certificates (npm config get cafile)?"
	fi
	while read -r path ver integrity; do
		[ -n "$path" ] || continue
		name=${path##*node_modules/}
		# npm pack names @scope/pkg@1.0 scope-pkg-1.0.tgz
		tgz="$tmp/$(echo "$name" | sed 's|^@||; s|/|-|')-$ver.tgz"
		[ -f "$tgz" ] || die "$name@$ver: npm pack made no $(basename "$tgz")"
		got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
		[ "$got" = "$integrity" ] || die "$name@$ver: integrity mismatch (got $got, pinned $integrity)"
		rm -rf "${NODE_DEST:?}/$path"
		mkdir -p "$NODE_DEST/$path"
		tar -xzf "$tgz" -C "$NODE_DEST/$path" --strip-components=1 --no-same-owner
		echo "$ver $integrity" >"$NODE_DEST/$path/.pinned"
	done <<EOP
$node_todo
EOP
	rm -rf "$tmp"
	tmp=""
fi
if [ $check_only = 1 ]; then
	[ -n "$grammars_missing" ] && say "missing grammar packages:$grammars_missing"
	[ -n "$node_missing" ] && say "missing $(echo $node_missing | wc -w) of the Node packages the tests use (the MCP client)"
	[ -n "$missing$grammars_missing$node_missing" ] && exit 1
	say "everything in $LIST is installed"
fi
exit 0
