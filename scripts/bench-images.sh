#!/bin/bash
# bench-images.sh - make bench-images: a 1 GiB image and a second one
# sharing its base layer, loaded into a fresh store (timed), what the store
# holds after each (shared files counted once), then what starting a run
# over the cached image costs (build/bench-images).  Figures go to
# docs/PERFORMANCE.md.  The generated layers are kept in
# $BENCH_DIR (default /tmp/plait-bench-images) for the next run.
#
# usage: scripts/bench-images.sh PLAIT BENCH_PROGRAM [ROUNDS]
set -euo pipefail
plait=$(realpath "$1")
bench=$(realpath "$2")
rounds=${3:-20}
dir=${BENCH_DIR:-/tmp/plait-bench-images}
mkdir -p "$dir"
cd "$dir"

# The base layer: /bin/true with its libraries, and 1 GiB of data in 8192
# files of 128 KiB under 256 directories; then one small layer per image.
if [ ! -f base.tar ]; then
	echo "generating the 1 GiB base layer in $dir ..."
	rm -rf tree && mkdir -p tree/bin tree/data
	cp /bin/true tree/bin/true
	for lib in $(ldd /bin/true | grep -o '/[^ ]*'); do
		mkdir -p "tree$(dirname "$lib")"
		cp "$lib" "tree$lib"
	done
	mkdir -p tree/proc tree/dev tree/tmp
	head -c $((1024 * 1024 * 1024)) /dev/urandom | split -b $((128 * 1024)) -a 4 - tree/data/f.
	(cd tree/data && ls | awk '{ printf "%s d%03d\n", $1, NR % 256 }' | while read -r f d; do
		mkdir -p "$d" && mv "$f" "$d/"
	done)
	tar --owner=0 --group=0 --numeric-owner -cf base.tar.tmp -C tree . && mv base.tar.tmp base.tar
	rm -rf tree
fi
for which in a b; do
	if [ ! -f "top-$which.tar" ]; then
		rm -rf "top-$which" && mkdir -p "top-$which/etc"
		echo "image $which" > "top-$which/etc/issue"
		tar --owner=0 --group=0 --numeric-owner -cf "top-$which.tar" -C "top-$which" . && rm -rf "top-$which"
	fi
done

# OCI layouts over those tars (blobs hard-linked, not copied)
/usr/bin/python3 - <<'EOF'
import hashlib, json, os
def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
base = digest("base.tar")
for which in "ab":
    out = "oci-" + which
    if os.path.exists(os.path.join(out, "index.json")):
        continue
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    layers = []
    for t in ("base.tar", "top-%s.tar" % which):
        d = base if t == "base.tar" else digest(t)
        p = os.path.join(out, "blobs", "sha256", d)
        if not os.path.exists(p):
            os.link(t, p)
        layers.append((d, os.path.getsize(t)))
    def put(obj):
        b = json.dumps(obj).encode()
        h = hashlib.sha256(b).hexdigest()
        open(os.path.join(out, "blobs", "sha256", h), "wb").write(b)
        return h, len(b)
    ch, cn = put({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d, _ in layers]}})
    mh, mn = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                             "digest": "sha256:" + ch, "size": cn},
                  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                              "digest": "sha256:" + d, "size": n} for d, n in layers]})
    json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
    json.dump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mh, "size": mn,
         "annotations": {"org.opencontainers.image.ref.name": "1"}}]},
        open(os.path.join(out, "index.json"), "w"))
EOF

store="$dir/store"
rm -rf "$store"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)," \
	"$(df -T "$dir" | awk 'NR == 2 { print $2 }') at $dir"
t0=$(date +%s.%N)
"$plait" image load --quiet --store "$store" oci-a >/dev/null
t1=$(date +%s.%N)
du_a=$(du -sk "$store" | cut -f1)
"$plait" image load --quiet --store "$store" oci-b >/dev/null
t2=$(date +%s.%N)
du_b=$(du -sk "$store" | cut -f1)
printf 'load image a (1 GiB layer + a small one, cold store): %.1f s\n' "$(echo "$t1 - $t0" | bc)"
printf 'load image b (the same base + a small layer):         %.1f s\n' "$(echo "$t2 - $t1" | bc)"
printf 'store on disk (du, hard links once): after a %.1f MiB, after a and b %.1f MiB (+%.1f MiB)\n' \
	"$(echo "$du_a / 1024" | bc -l)" "$(echo "$du_b / 1024" | bc -l)" "$(echo "($du_b - $du_a) / 1024" | bc -l)"
"$plait" image ls --store "$store"
echo
"$bench" "$store" localhost/oci-a:1 "$plait" "$rounds"
