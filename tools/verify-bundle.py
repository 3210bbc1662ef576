#!/usr/bin/env python3
"""An independent verifier of skyfence evidence bundles (docs/BUNDLE.md).

Written from the specification alone, with the Python standard library and one Ed25519
implementation (the `cryptography` package), so the other side need not trust skyfence's
own verifier. It checks what makes a bundle evidence:

  container     the zip holds no name twice and no entry whose local header disagrees
                with the central directory; at most 64 files, 256 MiB in all
  manifest      every file matches its SHA-256 and length in bundle.json, none unlisted
  log key       keys/log.vkey is the manifest's key and (with --key) a pinned one, or
                one a pinned key rotated to: the bundle's key rotation leaves (kind
                0x08, proven included) lead from it, each signed by both keys
  checkpoint    the signed note verifies under the log key (Ed25519, C2SP signed-note)
                and says the manifest's origin, size and root
  leaves        every leaf in leaves.txt has an RFC 9162 inclusion proof in proofs.txt
                that leads to the signed root
  files         incident.json, zone.geojson and config.toml are byte for byte in a
                proven leaf

It does not re-decode frames or re-run detection (skyfence verify does).

Usage: verify-bundle.py BUNDLE.zip [--key VKEY]...
Exit status: 0 verified, 1 a check failed, 2 not a readable bundle or a bad argument.
"""

import base64
import hashlib
import json
import struct
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_FILES = 64
MAX_TOTAL_BYTES = 256 << 20
SIG_TYPE_ED25519 = 0x01


class Failed(Exception):
    """A check failed: (check name, detail)."""


def fail(check, detail):
    raise Failed(check, detail)


def parse_vkey(text):
    """`name+hexid+base64(type || key)` -> (name, key id, public key bytes)."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not a vkey (name+id+key)")
    name, hex_id, b64 = parts
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != SIG_TYPE_ED25519:
        raise ValueError(f"{text!r}: not an Ed25519 (type 0x01) key")
    key_id = int(hex_id, 16)
    want = struct.unpack(">I", hashlib.sha256(name.encode() + b"\n" + raw[:1] + raw[1:]).digest()[:4])[0]
    if key_id != want:
        raise ValueError(f"{text!r}: key id {hex_id} does not match the key ({want:08x})")
    return name, key_id, raw[1:]


def check_container(path):
    """Duplicate names and local headers that disagree with the central directory."""
    with open(path, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    if len(infos) > MAX_FILES:
        fail("container", f"{len(infos)} files, at most {MAX_FILES}")
    names = [i.filename for i in infos]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        fail("container", f"names held twice: {sorted(dup)}")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        fail("container", f"files inflate to more than {MAX_TOTAL_BYTES} bytes")
    for n in names:
        parts = n.split("/")
        if n.startswith("/") or "\\" in n or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            fail("container", f"{n!r} is not a plain relative path")
    end = 0
    for i in sorted(infos, key=lambda i: i.header_offset):
        if i.header_offset < end:
            fail("container", f"{i.filename}: its data overlaps the entry before it")
        n, m = struct.unpack("<HH", data[i.header_offset + 26:i.header_offset + 30])
        end = i.header_offset + 30 + n + m + i.compress_size
    for i in infos:
        off = i.header_offset
        if data[off:off + 4] != b"PK\x03\x04":
            fail("container", f"{i.filename}: no local header where the directory points")
        flags, method = struct.unpack("<HH", data[off + 6:off + 10])
        crc, csize, usize, n = struct.unpack("<IIIH", data[off + 14:off + 28])
        local_name = data[off + 30:off + 30 + n]
        if local_name != i.filename.encode("utf-8") and local_name != i.orig_filename.encode("cp437", "replace"):
            fail("container", f"{i.filename}: the local header names {local_name!r}")
        if method != i.compress_type:
            fail("container", f"{i.filename}: the compression method differs")
        if not flags & 0x08 and (crc, csize, usize) != (i.CRC, i.compress_size, i.file_size):
            fail("container", f"{i.filename}: the local header's CRC or sizes differ")


def read_lines(text, name):
    """Data lines of leaves.txt / proofs.txt: (line number, fields)."""
    out = []
    for no, line in enumerate(text.decode("utf-8").split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        out.append((no, line.split(" ")))
    return out


def canonical_int(text, name, no):
    if not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        fail(name, f"line {no}: {text!r} is not a canonical index")
    return int(text)


def canonical_hex(text, name, no):
    if text != text.lower() or len(text) % 2 or any(c not in "0123456789abcdef" for c in text):
        fail(name, f"line {no}: not lowercase hex")
    return bytes.fromhex(text)


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf, index, size, proof):
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def open_note(text, name, key_id, public_key):
    """The note's text if a signature line by (name, key id) verifies, else a failure."""
    if "\n\n" not in text:
        fail("checkpoint signature", "no blank line between the note text and its signatures")
    body, sigs = text.split("\n\n", 1)
    body += "\n"
    key = Ed25519PublicKey.from_public_bytes(public_key)
    for line in sigs.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail("checkpoint signature", f"{line!r} is not a signature line")
        signer, b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(b64)
        if signer != name or len(raw) != 68 or struct.unpack(">I", raw[:4])[0] != key_id:
            continue  # a cosignature or another key: not ours to check here
        try:
            key.verify(raw[4:], body.encode("utf-8"))
        except InvalidSignature:
            fail("checkpoint signature", f"the signature by {name} does not verify")
        return body
    fail("checkpoint signature", f"no signature by {name} (key id {key_id:08x})")


def signed_by(text, vkey):
    """True if the signed note `text` has a signature line by `vkey` that verifies."""
    name, key_id, public_key = parse_vkey(vkey)
    if "\n\n" not in text:
        return False
    body, sigs = text.split("\n\n", 1)
    body += "\n"
    key = Ed25519PublicKey.from_public_bytes(public_key)
    for line in sigs.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 ") or " " not in line[2:]:
            return False
        signer, b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(b64)
        if signer == name and len(raw) == 68 and struct.unpack(">I", raw[:4])[0] == key_id:
            try:
                key.verify(raw[4:], body.encode("utf-8"))
                return True
            except InvalidSignature:
                return False
    return False


def follow_rotations(leaves, pinned, vkey):
    """The log key check of a bundle signed by a key not pinned: the key rotation leaves
    (kind 0x08: version, kind, at:i64, note:u32-length string) lead from a pinned key to
    it, in index order, each statement signed by the key it retires and the one it
    installs."""
    rotations = []
    for index, leaf in sorted(leaves.items()):
        if len(leaf) < 2 or leaf[1] != 0x08:
            continue
        if len(leaf) < 14 or struct.unpack(">I", leaf[10:14])[0] != len(leaf) - 14:
            fail("log key", f"leaf {index}: a malformed key rotation")
        note = leaf[14:].decode("utf-8")
        lines = note.split("\n\n", 1)[0].split("\n")
        if len(lines) != 4 or lines[0] != "skyfence key rotation" \
                or not lines[1].startswith("old ") or not lines[2].startswith("new "):
            fail("log key", f"leaf {index}: not a skyfence key rotation statement")
        old, new = lines[1][4:], lines[2][4:]
        for which, key in (("old", old), ("new", new)):
            if not signed_by(note, key):
                fail("log key", f"leaf {index}: the key rotation is not signed by the {which} key")
        rotations.append((index, old, new))
    if not rotations:
        fail("log key", f"{vkey} is not one of the --key keys")
    for start in pinned:
        current, path = start, []
        for index, old, new in rotations:
            if old == current:
                current = new
                path.append(str(index))
        if current == vkey and path:
            return f"the pinned key rotated to it by leaf {', '.join(path)}"
    fail("log key", f"{vkey} is not one of the --key keys, and the bundle's key rotations lead from none of them")


def verify(path, pinned):
    passed = []
    check_container(path)
    passed.append(("container", "no duplicate names; local headers agree"))
    with zipfile.ZipFile(path) as z:
        files = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    manifest = json.loads(files["bundle.json"])
    if manifest.get("format") != "skyfence-evidence-bundle" or manifest.get("version") not in (1, 2, 3, 4):
        fail("manifest", "not a skyfence-evidence-bundle of version 1 to 4")
    listed = {f["path"]: f for f in manifest["files"]}
    for name, entry in listed.items():
        if name not in files:
            fail("manifest", f"{name} is listed but missing")
        if hashlib.sha256(files[name]).hexdigest() != entry["sha256"] or len(files[name]) != entry["bytes"]:
            fail("manifest", f"{name} does not match its SHA-256 or length")
    unlisted = set(files) - set(listed) - {"bundle.json"}
    if unlisted:
        fail("manifest", f"unlisted files: {sorted(unlisted)}")
    passed.append(("manifest", f"{len(listed)} files match"))

    log = manifest["log"]
    vkey = files["keys/log.vkey"].decode().strip()
    if vkey != log["key"]:
        fail("log key", "keys/log.vkey differs from the manifest's key")
    name, key_id, public_key = parse_vkey(vkey)
    rotated = bool(pinned) and vkey not in pinned
    if not rotated:
        passed.append(("log key", "pinned" if pinned else "self-asserted (no --key)"))

    body = open_note(files["checkpoint.txt"].decode("utf-8"), name, key_id, public_key)
    lines = body.rstrip("\n").split("\n")
    if len(lines) < 3:
        fail("checkpoint signature", "the checkpoint has fewer than three lines")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if (origin, size, root.hex()) != (log["origin"], log["checkpoint_size"], log["checkpoint_root"]):
        fail("checkpoint signature", "the checkpoint does not say what the manifest says")
    passed.append(("checkpoint signature", f"{origin} size {size} signed by {name}"))

    leaves = {}
    for no, fields in read_lines(files["leaves.txt"], "leaves"):
        if len(fields) != 2:
            fail("leaves", f"line {no}: expected INDEX HEX")
        index = canonical_int(fields[0], "leaves", no)
        leaves[index] = canonical_hex(fields[1], "leaves", no)
    proofs = {}
    for no, fields in read_lines(files["proofs.txt"], "proofs"):
        index = canonical_int(fields[0], "proofs", no)
        proofs[index] = [canonical_hex(h, "proofs", no) for h in fields[1:]]
    for index, leaf in sorted(leaves.items()):
        if index not in proofs:
            fail("inclusion proofs", f"leaf {index} has no proof")
        if root_from_inclusion(leaf_hash(leaf), index, size, proofs[index]) != root:
            fail("inclusion proofs", f"leaf {index} does not lead to the signed root")
    passed.append(("inclusion proofs", f"{len(leaves)} leaves lead to the signed root"))
    if rotated:
        passed.append(("log key", follow_rotations(leaves, pinned, vkey)))

    for name_ in ("incident.json", "zone.geojson", "config.toml"):
        if name_ in files and not any(files[name_] in leaf for leaf in leaves.values()):
            fail("files", f"{name_} is not in a proven leaf")
    passed.append(("files", "incident.json, zone.geojson and config.toml are in proven leaves"))
    return passed


def main(argv):
    args, pinned = [], []
    it = iter(argv[1:])
    for a in it:
        if a == "--key":
            k = next(it, None)
            if k is None:
                print("--key needs a value", file=sys.stderr)
                return 2
            try:
                parse_vkey(k)
            except ValueError as e:
                print(f"--key: {e}", file=sys.stderr)
                return 2
            pinned.append(k.strip())
        else:
            args.append(a)
    if len(args) != 1:
        print(__doc__.strip().split("\n\n")[-2], file=sys.stderr)
        return 2
    try:
        passed = verify(args[0], pinned)
    except Failed as e:
        check, detail = e.args
        print(f"FAIL {check}: {detail}")
        print("VERDICT: NOT VERIFIED")
        return 1
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as e:
        print(f"{args[0]}: not a readable evidence bundle: {e!r}", file=sys.stderr)
        return 2
    for check, detail in passed:
        print(f"PASS {check}: {detail}")
    print("VERDICT: VERIFIED" + ("" if pinned else " against the bundle's own key"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
