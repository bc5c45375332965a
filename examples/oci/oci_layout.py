#!/usr/bin/env python3
"""Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) with
one tar+gzip layer holding plugin.wasm, the format Istio and Envoy Gateway
pull. Deterministic: fixed tar metadata and a gzip header without time or
name, so the same wasm always gives the same manifest digest.

Usage: examples/oci/oci_layout.py WASM OUT_DIR TAG   (prints the manifest digest)
"""
import gzip, hashlib, io, json, os, shutil, sys, tarfile

wasm_path, out, tag = sys.argv[1:4]
wasm = open(wasm_path, "rb").read()

def blob(data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}

def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.join(out, "blobs", "sha256"))

tar_bytes = io.BytesIO()
with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    info = tarfile.TarInfo("plugin.wasm")
    info.size, info.mode, info.mtime = len(wasm), 0o644, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(wasm))
layer_tar = tar_bytes.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(filename="", mode="wb", fileobj=gz, compresslevel=9, mtime=0) as f:
    f.write(layer_tar)

layer = blob(gz.getvalue(), "application/vnd.oci.image.layer.v1.tar+gzip")
config = blob(canonical({
    "architecture": "wasm",
    "os": "wasi",
    "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
}), "application/vnd.oci.image.config.v1+json")
manifest = blob(canonical({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config,
    "layers": [layer],
}), "application/vnd.oci.image.manifest.v1+json")
manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
with open(os.path.join(out, "index.json"), "wb") as f:
    f.write(canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest],
    }))
with open(os.path.join(out, "oci-layout"), "wb") as f:
    f.write(canonical({"imageLayoutVersion": "1.0.0"}))
print(manifest["digest"])
