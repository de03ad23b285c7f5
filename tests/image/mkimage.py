#!/usr/bin/python3
"""mkimage.py - the image tests' fixture writer: builds a container image
from a JSON description, as a `docker save` tarball and/or an OCI image
layout, with tar layers written entry by entry (Python's tarfile), so that
whiteouts, opaque directories, hard links, odd modes and hostile names are
exactly what the test asks for.

usage: mkimage.py SPEC.json [--docker-archive FILE] [--oci DIR]

SPEC:
  {"tag": "localhost/tests/a:1",          # RepoTags / ref.name
   "config": {"Env": [...], "User": "...", "WorkingDir": "...", "Cmd": [...]},
   "layers": [
     {"compression": "none|gzip|zstd",
      "entries": [
        {"path": "etc/x", "type": "file", "content": "text", "mode": 420,
         "uid": 0, "gid": 0, "mtime": 1700000000},
        {"path": "d", "type": "dir", "mode": 493},
        {"path": "l", "type": "symlink", "target": "etc/x"},
        {"path": "h", "type": "hardlink", "target": "etc/x"},
        {"path": "p", "type": "fifo"},
        {"path": "dev/null", "type": "char", "major": 1, "minor": 3},
        {"path": "big", "type": "file", "size": 1048576, "seed": 7}],
      "host": ["/bin/sh"],               # host programs and their libraries
      "trees": [{"src": "/some/dir", "dst": "testbed",   # host trees,
                 "exclude": ["__pycache__"]}]}]}         # names skipped
Whiteouts are files named .wh.NAME and .wh..wh..opq, written as given.
With "platforms": ["linux/amd64", "linux/arm64"] (and --oci only), one
image per platform, each with a file /platform naming it, under an image
index.
"""
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_MT = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def content_of(e):
    if "bytes" in e:
        return e["bytes"]
    if "content" in e:
        return e["content"].encode()
    if "size" in e:
        rnd = random.Random(e.get("seed", 1))
        return rnd.randbytes(e["size"])
    return b""


def host_entries(paths):
    """Entries copying host executables and the shared libraries they load
    (ldd), at the same paths: a test image that can run /bin/sh."""
    files = []
    for p in paths:
        files.append(p)
        out = subprocess.run(["ldd", p], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            for w in parts:
                if w.startswith("/") and os.path.exists(w):
                    files.append(w)
    seen, entries = set(), []
    for f in files:
        if f in seen:
            continue
        seen.add(f)
        with open(f, "rb") as fh:
            data = fh.read()
        entries.append({"path": f.lstrip("/"), "type": "file", "bytes": data,
                        "mode": os.stat(f).st_mode & 0o777})
    return entries


def tree_entries(trees):
    """Entries copying host directory trees: [{"src": DIR, "dst": "testbed"}],
    files, directories and symlinks with their modes, owned by root."""
    entries = []
    for t in trees:
        src, dst = t["src"], t["dst"].strip("/")
        skip = set(t.get("exclude", []))
        entries.append({"path": dst + "/", "type": "dir", "mode": 0o755})
        for dp, dns, fns in os.walk(src):
            dns[:] = [n for n in dns if n not in skip]
            fns = [n for n in fns if n not in skip]
            rel = os.path.relpath(dp, src)
            base = dst if rel == "." else dst + "/" + rel
            for n in sorted(dns) + sorted(fns):
                p = os.path.join(dp, n)
                st = os.lstat(p)
                if os.path.islink(p):
                    entries.append({"path": base + "/" + n, "type": "symlink", "target": os.readlink(p)})
                elif os.path.isdir(p):
                    entries.append({"path": base + "/" + n + "/", "type": "dir", "mode": st.st_mode & 0o7777})
                else:
                    with open(p, "rb") as f:
                        entries.append({"path": base + "/" + n, "type": "file", "bytes": f.read(),
                                        "mode": st.st_mode & 0o777})
    return entries


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["path"])
            ti.uid = e.get("uid", 0)
            ti.gid = e.get("gid", 0)
            ti.uname = ti.gname = ""
            ti.mtime = e.get("mtime", 1700000000)
            kind = e.get("type", "file")
            data = None
            if kind == "file":
                data = content_of(e)
                ti.type = tarfile.REGTYPE
                ti.size = len(data)
                ti.mode = e.get("mode", 0o644)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e.get("mode", 0o755)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["target"]
                ti.mode = 0o777
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["target"]
                ti.mode = e.get("mode", 0o644)
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
                ti.mode = e.get("mode", 0o644)
            elif kind == "char":
                ti.type = tarfile.CHRTYPE
                ti.devmajor = e.get("major", 1)
                ti.devminor = e.get("minor", 3)
                ti.mode = e.get("mode", 0o666)
            else:
                raise SystemExit("mkimage: unknown entry type %r" % kind)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "none":
        return raw
    if how == "gzip":
        return gzip.compress(raw, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, check=True,
                              stdout=subprocess.PIPE).stdout
    raise SystemExit("mkimage: unknown compression %r" % how)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def build(spec):
    layers = []
    for L in spec["layers"]:
        raw = layer_tar(host_entries(L.get("host", [])) + tree_entries(L.get("trees", [])) +
                        L.get("entries", []))
        how = L.get("compression", "none")
        blob = compress(raw, how)
        layers.append({"raw": raw, "blob": blob, "how": how})
    cfg = {
        "architecture": spec.get("architecture", "amd64"),
        "os": "linux",
        "config": spec.get("config", {}),
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(l["raw"]) for l in layers]},
        "history": [{"created_by": "mkimage.py layer %d" % i} for i in range(len(layers))],
    }
    config = json.dumps(cfg, sort_keys=True).encode()
    return layers, config


def write_blob(d, data):
    h = sha(data)
    p = os.path.join(d, "blobs", "sha256", h)
    with open(p, "wb") as f:
        f.write(data)
    return h


def write_oci(spec, layers, config, out):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    ch = write_blob(out, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": "sha256:" + ch, "size": len(config)},
        "layers": [{"mediaType": LAYER_MT[l["how"]], "digest": "sha256:" + write_blob(out, l["blob"]),
                    "size": len(l["blob"])} for l in layers],
    }
    m = json.dumps(manifest, sort_keys=True).encode()
    mh = write_blob(out, m)
    tag = spec.get("tag", "latest")
    ref_name = tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else "latest"
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": MT_OCI_MANIFEST, "digest": "sha256:" + mh, "size": len(m),
                            "annotations": {"org.opencontainers.image.ref.name": ref_name}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    return "sha256:" + mh


def write_docker_archive(spec, layers, config, out):
    ch = sha(config)
    members = [(ch + ".json", config)]
    names = []
    for i, l in enumerate(layers):
        d = sha(l["raw"])
        members.append((d + "/layer.tar", l["raw"]))
        members.append((d + "/VERSION", b"1.0"))
        names.append(d + "/layer.tar")
    manifest = [{"Config": ch + ".json", "RepoTags": [spec["tag"]] if spec.get("tag") else None,
                 "Layers": names}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        seen = set()
        for name, data in members:
            dname = os.path.dirname(name)
            if dname and dname not in seen:
                ti = tarfile.TarInfo(dname)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
                seen.add(dname)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return "sha256:" + ch


def write_oci_index(spec, out):
    """One image per platform of spec["platforms"] (each with a file
    /platform naming it), under one image index tagged spec["tag"]."""
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    entries = []
    for plat in spec["platforms"]:
        os_, arch = plat.split("/")[:2]
        one = dict(spec)
        one["architecture"] = arch
        one["layers"] = spec["layers"] + [{"entries": [{"path": "platform", "content": plat + "\n"}]}]
        layers, config = build(one)
        ch = write_blob(out, config)
        manifest = {
            "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": MT_OCI_CONFIG, "digest": "sha256:" + ch, "size": len(config)},
            "layers": [{"mediaType": LAYER_MT[l["how"]], "digest": "sha256:" + write_blob(out, l["blob"]),
                        "size": len(l["blob"])} for l in layers],
        }
        m = json.dumps(manifest, sort_keys=True).encode()
        entries.append({"mediaType": MT_OCI_MANIFEST, "digest": "sha256:" + write_blob(out, m),
                        "size": len(m), "platform": {"os": os_, "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}, sort_keys=True).encode()
    ih = write_blob(out, index)
    tag = spec.get("tag", "latest")
    ref_name = tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else "latest"
    top = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                              "digest": "sha256:" + ih, "size": len(index),
                                              "annotations": {"org.opencontainers.image.ref.name": ref_name}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(top, f)
    return "sha256:" + ih


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    with open(args[0]) as f:
        spec = json.load(f)
    if spec.get("platforms"):
        if args[1:2] != ["--oci"]:
            raise SystemExit("mkimage: platforms need --oci DIR")
        print(json.dumps({"index": write_oci_index(spec, args[2])}))
        return
    layers, config = build(spec)
    i = 1
    out = {"config": "sha256:" + sha(config), "diff_ids": ["sha256:" + sha(l["raw"]) for l in layers]}
    while i < len(args):
        if args[i] == "--docker-archive":
            write_docker_archive(spec, layers, config, args[i + 1])
        elif args[i] == "--oci":
            out["manifest"] = write_oci(spec, layers, config, args[i + 1])
        else:
            raise SystemExit("mkimage: unknown option %s" % args[i])
        i += 2
    print(json.dumps(out))


if __name__ == "__main__":
    main()
