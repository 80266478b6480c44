package walstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestMain silences the torn-tail warnings that many tests provoke on
// purpose; TestTornTailScattered checks the warning itself.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// rec is a record as the tests remember it: a private copy of the payload.
type rec struct {
	t   RecordType
	p   []byte
	off int64
}

// genRecords makes n records of varied types and sizes, including empty
// payloads and payloads larger than a small preallocation chunk.
func genRecords(rng *rand.Rand, n, maxSize int) []rec {
	out := make([]rec, n)
	for i := range out {
		var size int
		switch rng.IntN(10) {
		case 0:
			size = 0
		case 1:
			size = rng.IntN(maxSize + 1)
		default:
			size = rng.IntN(200)
		}
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		out[i] = rec{t: RecordType(1 + rng.IntN(254)), p: p} // 255 is the header's
	}
	return out
}

// encodedSize is the number of bytes r occupies in the file.
func encodedSize(r rec) int64 { return headerSize + 1 + int64(len(r.p)) }

// appendAll writes recs to l in batches of random size, syncing after
// each, and fills in the offsets they should land at.
func appendAll(t testing.TB, rng *rand.Rand, l *Log, recs []rec) {
	t.Helper()
	var batch []byte
	off := l.End()
	for i := 0; i < len(recs); {
		batch = batch[:0]
		for k := 1 + rng.IntN(16); k > 0 && i < len(recs); k-- {
			recs[i].off = off
			off += encodedSize(recs[i])
			batch = AppendRecord(batch, recs[i].t, recs[i].p)
			i++
		}
		if err := l.Write(batch); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := l.Sync(); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
	if l.End() != off {
		t.Fatalf("End() = %d, want %d", l.End(), off)
	}
}

// openReplay opens path and returns the log and copies of what it replayed.
func openReplay(t testing.TB, path string, opts Options) (*Log, ReplayInfo, []rec) {
	t.Helper()
	var got []rec
	l, info, err := Open(path, opts, func(r Record) error {
		got = append(got, rec{t: r.Type, p: bytes.Clone(r.Payload), off: r.Offset})
		return nil
	})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	if info.Records != len(got) {
		t.Fatalf("ReplayInfo.Records = %d, callback saw %d", info.Records, len(got))
	}
	if info.End != l.End() {
		t.Fatalf("ReplayInfo.End = %d, End() = %d", info.End, l.End())
	}
	return l, info, got
}

// sameRecords fails the test unless got equals want, offsets included.
func sameRecords(t testing.TB, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.t != w.t || g.off != w.off || !bytes.Equal(g.p, w.p) {
			t.Fatalf("record %d: got type %d offset %d len %d, want type %d offset %d len %d",
				i, g.t, g.off, len(g.p), w.t, w.off, len(w.p))
		}
	}
}

// buildLog writes recs to a new log at dir/name and returns its path and
// the file's bytes (including the preallocated zero tail).
func buildLog(t testing.TB, dir, name string, opts Options, recs []rec) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	l, _, err := Open(path, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, rand.New(rand.NewPCG(7, 7)), l, recs)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// wantCorrupt checks that err reports corruption of path at off.
func wantCorrupt(t testing.TB, err error, path string, off int64) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	msg := err.Error()
	if !bytes.Contains([]byte(msg), []byte(path)) ||
		!bytes.Contains([]byte(msg), []byte(fmt.Sprintf("offset %d:", off))) {
		t.Fatalf("error %q does not name file %s and offset %d", msg, path, off)
	}
}
