#!/bin/bash
# gpu-stage.sh DEST - gather what scripts/gpu-run.sh needs on a GPU machine
# that builds nothing: the built plait, the CUDA module and the engine's
# test binary (build/), the reference and benchmark scripts, and the
# shared libraries the test binary links that a bare Ubuntu image lacks
# (Criterion and what it needs, from this Debian machine; glibc itself
# stays the machine's).  Run `make` first.
#
#   scripts/gpu-stage.sh /work/main/.device-carry/plait
#   (on the GPU machine) .device-carry/plait/scripts/gpu-run.sh all
set -eu
dest=${1:?usage: scripts/gpu-stage.sh DEST}
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dest"
mkdir -p "$dest/build/lib" "$dest/build/tests" "$dest/lib" "$dest/scripts" "$dest/tests/reference"
cp "$root/build/plait" "$dest/build/"
cp "$root/build/lib/libplait-cuda.so" "$dest/build/lib/"
cp "$root/build/tests/test-engine" "$dest/build/tests/"
cp "$root/scripts/gpu-run.sh" "$root/scripts/bench_engine_torch.py" "$dest/scripts/"
cp "$root/tests/reference/plt_ref.py" "$root/tests/reference/cuda_numerics.py" "$dest/tests/reference/"
# every library of the test binary but the C library's own
ldd "$root/build/tests/test-engine" | awk '$3 ~ /^\// { print $3 }' |
	grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*)\.so' | while read -r l; do
	cp -L "$l" "$dest/lib/"
done
du -sh "$dest"
