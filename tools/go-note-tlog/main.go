// go-note-tlog checks a skyfence evidence bundle's checkpoint and inclusion proofs with
// the Go checksum database's own packages, golang.org/x/mod/sumdb/note (signed notes)
// and golang.org/x/mod/sumdb/tlog (RFC 6962 transparency-log proofs): an
// implementation of the same standards written by others, not by skyfence
// (docs/BUNDLE.md, sections 5 and 6).
//
// Usage: go-note-tlog BUNDLE.zip VKEY
//
// Prints what it checked and "VERDICT: VERIFIED" (exit 0) or "VERDICT: NOT VERIFIED"
// (exit 1); exit 2 for an unreadable bundle or key.
//
// Built by crates/skyfence-bundle/tests/independent_verifier.rs in GOPATH mode against
// Debian's golang-golang-x-mod-dev (no module download).
package main

import (
	"archive/zip"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-note-tlog: "+format+"\n", args...)
	os.Exit(2)
}

func readZip(path string) map[string][]byte {
	r, err := zip.OpenReader(path)
	if err != nil {
		usage("%s: %v", path, err)
	}
	defer r.Close()
	files := map[string][]byte{}
	for _, f := range r.File {
		if _, dup := files[f.Name]; dup {
			usage("%s: duplicate entry %s", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			usage("%s: %s: %v", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
		rc.Close()
		if err != nil {
			usage("%s: %s: %v", path, f.Name, err)
		}
		files[f.Name] = b
	}
	return files
}

// lines returns the non-comment, non-empty lines of a bundle text file.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func main() {
	if len(os.Args) != 3 {
		usage("usage: go-note-tlog BUNDLE.zip VKEY")
	}
	files := readZip(os.Args[1])
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		usage("key %q: %v", os.Args[2], err)
	}
	failed := false
	fail := func(what string, args ...interface{}) {
		fmt.Printf("FAIL "+what+"\n", args...)
		failed = true
	}

	// The checkpoint: a signed note; Open verifies the signature of the known key and
	// ignores those of others (witness cosignatures).
	n, err := note.Open(files["checkpoint.txt"], note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
		fmt.Println("VERDICT: NOT VERIFIED")
		os.Exit(1)
	}
	fmt.Printf("PASS checkpoint signature: %s (note)\n", n.Sigs[0].Name)
	body := strings.SplitN(n.Text, "\n", 4)
	if len(body) < 4 {
		fail("checkpoint text: fewer than three lines")
		fmt.Println("VERDICT: NOT VERIFIED")
		os.Exit(1)
	}
	size, err1 := strconv.ParseInt(body[1], 10, 64)
	rootBytes, err2 := base64.StdEncoding.DecodeString(body[2])
	if err1 != nil || err2 != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint text: size %q, root %q", body[1], body[2])
		fmt.Println("VERDICT: NOT VERIFIED")
		os.Exit(1)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	fmt.Printf("PASS checkpoint: origin %s, size %d, root %s\n", body[0], size, hex.EncodeToString(root[:]))

	// Every leaf's audit path must lead to the signed root (tlog.CheckRecord).
	proofs := map[int64]tlog.RecordProof{}
	for _, l := range lines(files["proofs.txt"]) {
		f := strings.Fields(l)
		index, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			fail("proofs.txt: line %q", l)
			continue
		}
		var p tlog.RecordProof
		for _, h := range f[1:] {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != tlog.HashSize {
				fail("proofs.txt: hash %q", h)
				continue
			}
			var x tlog.Hash
			copy(x[:], b)
			p = append(p, x)
		}
		proofs[index] = p
	}
	checked := 0
	for _, l := range lines(files["leaves.txt"]) {
		f := strings.SplitN(l, " ", 2)
		index, err := strconv.ParseInt(f[0], 10, 64)
		data := []byte{}
		if err == nil && len(f) == 2 {
			data, err = hex.DecodeString(f[1])
		}
		if err != nil {
			fail("leaves.txt: line %.40q", l)
			continue
		}
		p, ok := proofs[index]
		if !ok {
			fail("inclusion proofs: no proof for leaf %d", index)
			continue
		}
		if err := tlog.CheckRecord(p, size, root, index, tlog.RecordHash(data)); err != nil {
			fail("inclusion proofs: leaf %d: %v", index, err)
			continue
		}
		checked++
	}
	if checked == 0 {
		fail("inclusion proofs: no leaf")
	}
	if failed {
		fmt.Println("VERDICT: NOT VERIFIED")
		os.Exit(1)
	}
	fmt.Printf("PASS inclusion proofs: %d leaves lead to the signed root (tlog)\n", checked)
	fmt.Println("VERDICT: VERIFIED")
}
