#!/usr/bin/env python3
"""Fails when fuzz/Cargo.lock pins a crate at a version the root Cargo.lock does not.

fuzz/ is its own cargo workspace (cargo-fuzz layout) and CI builds it into the root
workspace's target directory. Every version that drifts between the two lock files is
compiled a second time; enough of them filled a CI machine's disk once. The fix is
printed: start the fuzz lock from the root one and let cargo add libFuzzer.
"""

import sys
import tomllib


def versions(path):
    with open(path, "rb") as f:
        lock = tomllib.load(f)
    found = {}
    for package in lock.get("package", []):
        found.setdefault(package["name"], set()).add(package["version"])
    return found


def main():
    root_path, fuzz_path = sys.argv[1], sys.argv[2]
    root, fuzz = versions(root_path), versions(fuzz_path)
    drifted = sorted(
        (name, sorted(fuzz[name] - root[name]), sorted(root[name]))
        for name in fuzz
        if name in root and not fuzz[name] <= root[name]
    )
    if drifted:
        for name, extra, pinned in drifted:
            print(f"{fuzz_path}: {name} {', '.join(extra)}; {root_path} pins {', '.join(pinned)}")
        print(
            f"{len(drifted)} crate(s) drifted. Fix: cp {root_path} {fuzz_path} && "
            f"cargo metadata --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null"
        )
        sys.exit(1)
    shared = sum(1 for name in fuzz if name in root)
    print(f"{fuzz_path}: the {shared} crates shared with {root_path} are at its versions")


if __name__ == "__main__":
    main()
