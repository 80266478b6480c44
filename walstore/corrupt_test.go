package walstore

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// smallChunk keeps files small in tests that copy and rewrite them many
// times.
var smallChunk = Options{PreallocChunk: 64 << 10}

// TestBitFlipMiddleRecord flips every bit of a record that has others
// after it. Each flip must fail Open with ErrCorrupt naming the file and
// the record's offset, and must leave the file exactly as it was.
func TestBitFlipMiddleRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	recs := genRecords(rng, 7, 100)
	recs[3].p = []byte("commit txn 42 at coordinator a") // 30 bytes
	path, data := buildLog(t, t.TempDir(), "node.wal", smallChunk, recs)
	mid := recs[3]

	for i := mid.off; i < mid.off+encodedSize(mid); i++ {
		for bit := range 8 {
			bad := bytes.Clone(data)
			bad[i] ^= 1 << bit
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := Open(path, Options{}, nil)
			wantCorrupt(t, err, path, mid.off)
			now, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(now, bad) {
				t.Fatalf("flip at %d bit %d: Open modified the corrupt file", i, bit)
			}
		}
	}
	if torn, _ := filepath.Glob(path + ".torn-*"); len(torn) != 0 {
		t.Fatalf("corruption was treated as a torn tail: %v", torn)
	}
	// A failed Open releases the lock.
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, got := openReplay(t, path, Options{})
	defer l.Close()
	sameRecords(t, got, recs)
}

// TestCorruptMidLog covers damage that a bit flip does not produce.
func TestCorruptMidLog(t *testing.T) {
	cases := []struct {
		name   string
		damage func(rec []byte)
		reason string
	}{
		{"2GiB length", func(r []byte) {
			binary.BigEndian.PutUint32(r, 0x7fffffff)
		}, "exceeds limit"},
		{"zeroed record", func(r []byte) {
			clear(r)
		}, "zero length followed by non-zero data"},
		{"type 0 with valid crc", func(r []byte) {
			r[headerSize] = 0
			binary.BigEndian.PutUint32(r[crcAt:], crc32.Checksum(r[headerSize:], castagnoli))
		}, "record type 0"},
		{"length past end of file", func(r []byte) {
			binary.BigEndian.PutUint32(r, 1<<20) // within MaxRecord, past the 64 KiB file
		}, "runs past end of file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			recs := genRecords(rng, 6, 100)
			path, data := buildLog(t, t.TempDir(), "node.wal", smallChunk, recs)
			mid := recs[2]
			c.damage(data[mid.off : mid.off+encodedSize(mid)])
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, info, err := Open(path, Options{}, nil)
			wantCorrupt(t, err, path, mid.off)
			if !bytes.Contains([]byte(err.Error()), []byte(c.reason)) {
				t.Fatalf("error %q does not say %q", err, c.reason)
			}
			if info.Records != 2 {
				t.Fatalf("info.Records = %d, want 2", info.Records)
			}
			now, _ := os.ReadFile(path)
			if !bytes.Equal(now, data) {
				t.Fatal("Open modified the corrupt file")
			}
		})
	}
}
