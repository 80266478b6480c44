package walstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// truncLog builds a log of 300 records whose control file records its
// whole length as durable (Close records the end of the last Sync), and
// returns its path, its bytes and its records.
func truncLog(t *testing.T) (string, []byte, []rec) {
	t.Helper()
	recs := genRecords(rand.New(rand.NewPCG(31, 32)), 300, 200)
	path, data := buildLog(t, t.TempDir(), "node.wal", smallChunk, recs)
	c, ok, err := ReadControl(path)
	end := recs[len(recs)-1].off + encodedSize(recs[len(recs)-1])
	if err != nil || !ok || c.Bound != end || c.NextGen != 0 {
		t.Fatalf("control file after Close: %+v ok=%v err=%v, want bound %d", c, ok, err, end)
	}
	return path, data, recs
}

// wantRefused checks that Open fails with want, naming the log and its
// control file (and each of extra), and leaves the log and the directory
// as they were.
func wantRefused(t *testing.T, path string, want error, extra ...string) {
	t.Helper()
	before, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(filepath.Dir(path))
	_, _, err := Open(path, smallChunk, nil)
	if !errors.Is(err, want) {
		t.Fatalf("Open: err = %v, want %v", err, want)
	}
	for _, s := range append([]string{path, ControlPath(path)}, extra...) {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not name %q", err, s)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused Open modified the log")
	}
	if now, _ := os.ReadDir(filepath.Dir(path)); len(now) != len(entries) {
		t.Fatalf("a refused Open changed the directory: %d entries, had %d", len(now), len(entries))
	}
}

// TestTruncatedLogRefused cuts a log whose control file vouches for all of
// it: to half (on and off a record boundary, by truncating and by zeroing),
// to one byte short, to nothing, and deletes it. Open must refuse each,
// naming both files and the offsets, and touch nothing; restored, the log
// opens whole.
func TestTruncatedLogRefused(t *testing.T) {
	path, data, recs := truncLog(t)
	bound := recs[len(recs)-1].off + encodedSize(recs[len(recs)-1])
	mid := recs[150]
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"half, mid-record", data[:mid.off+3]},
		{"half, on a boundary", data[:mid.off]},
		{"half, zeroed", append(bytes.Clone(data[:mid.off+5]), make([]byte, len(data)-int(mid.off)-5)...)},
		{"one byte short", data[:bound-1]},
		{"header only", data[:headerLen]},
		{"empty", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, path, ErrTruncated, fmt.Sprintf("offset %d", bound))
			if torn, _ := filepath.Glob(path + ".torn-*"); len(torn) != 0 {
				t.Fatalf("the cut was treated as a torn tail: %v", torn)
			}
		})
	}
	t.Run("deleted", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		_, _, err := Open(path, smallChunk, nil)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), ControlPath(path)) {
			t.Fatalf("Open of a deleted log: %v, want ErrTruncated saying it is missing", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refused Open left a file behind: %v", err)
		}
	})

	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, got := openReplay(t, path, smallChunk)
	defer l.Close()
	sameRecords(t, got, recs)
}

// TestTruncatedAfterBound: records synced after the last recorded bound
// are not vouched for, so a cut among them is a torn tail (the documented
// limit); a cut exactly at the bound is the clean end.
func TestTruncatedAfterBound(t *testing.T) {
	path, _, recs := truncLog(t)
	bound := recs[len(recs)-1].off + encodedSize(recs[len(recs)-1])

	// More records, synced, with the bound left where it was.
	l, _, _ := openReplay(t, path, Options{PreallocChunk: smallChunk.PreallocChunk, BoundInterval: -1})
	more := genRecords(rand.New(rand.NewPCG(33, 34)), 20, 200)
	appendAll(t, rand.New(rand.NewPCG(35, 36)), l, more)
	l.Close()
	if c, _, _ := ReadControl(path); c.Bound != bound {
		t.Fatalf("bound moved to %d with BoundInterval < 0", c.Bound)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Just after the bound: in the middle of the first unvouched record.
	if err := os.WriteFile(path, data[:bound+5], 0o644); err != nil {
		t.Fatal(err)
	}
	l, info, got := openReplay(t, path, smallChunk)
	sameRecords(t, got, recs)
	if info.TornAt != bound {
		t.Fatalf("TornAt = %d, want %d", info.TornAt, bound)
	}
	l.Close()

	// Exactly at the bound.
	if err := os.WriteFile(path, data[:bound], 0o644); err != nil {
		t.Fatal(err)
	}
	l, info, got = openReplay(t, path, smallChunk)
	defer l.Close()
	sameRecords(t, got, recs)
	if info.TornAt != -1 {
		t.Fatalf("a cut at the bound reported a torn tail at %d", info.TornAt)
	}
}

// TestControlFileDamaged: a control file that does not parse stops Open
// with ErrControl naming it; the log is untouched, and removing the
// control file (the documented override) accepts the log as it is.
func TestControlFileDamaged(t *testing.T) {
	path, _, recs := truncLog(t)
	good, err := os.ReadFile(ControlPath(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, why string
		data      []byte
	}{
		{"bit flip", "crc mismatch", func() []byte { b := bytes.Clone(good); b[17] ^= 4; return b }()},
		{"cut short", "bytes, want", good[:20]},
		{"empty", "bytes, want", nil},
		{"not ours", "bad magic", bytes.Repeat([]byte("x"), controlSize)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(ControlPath(path), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, path, ErrControl, c.why)
		})
	}
	if err := os.Remove(ControlPath(path)); err != nil {
		t.Fatal(err)
	}
	l, _, got := openReplay(t, path, smallChunk)
	defer l.Close()
	sameRecords(t, got, recs)
	if c, ok, err := ReadControl(path); err != nil || !ok || c.Gen != l.Generation() {
		t.Fatalf("control file after the override: %+v %v %v, want generation %x", c, ok, err, l.Generation())
	}
}

// TestLogReplaced: a log of another generation in place of the one the
// control file describes (an older copy from before a Rewrite, another
// node's log) is refused with ErrLogMismatch, even though it is longer
// than the bound.
func TestLogReplaced(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	path, old, _ := truncLog(t)
	l, _, _ := openReplay(t, path, smallChunk)
	if err := l.Rewrite(records(genRecords(rng, 3, 50))); err != nil {
		t.Fatal(err)
	}
	l.Close()
	current, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, other := buildLog(t, t.TempDir(), "other.wal", smallChunk, genRecords(rng, 400, 200))
	for name, data := range map[string][]byte{"older copy": old, "another log": other} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, path, ErrLogMismatch, "generation")
		})
	}
	if err := os.WriteFile(path, current, 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, _ = openReplay(t, path, smallChunk)
	l.Close()
}

// TestUpgradeWithoutControlFile: a log written before control files and
// header records existed opens as before (its records from offset 0),
// gets a control file, and from then on is guarded; its first Rewrite
// gives it a header.
func TestUpgradeWithoutControlFile(t *testing.T) {
	recs := genRecords(rand.New(rand.NewPCG(39, 40)), 50, 200)
	var data []byte
	for i := range recs {
		recs[i].off = int64(len(data))
		data = AppendRecord(data, recs[i].t, recs[i].p)
	}
	path := filepath.Join(t.TempDir(), "old.wal")
	if err := os.WriteFile(path, append(data, make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, got := openReplay(t, path, smallChunk)
	sameRecords(t, got, recs)
	if c, ok, err := ReadControl(path); err != nil || !ok || c.Gen != 0 || l.Generation() != 0 {
		t.Fatalf("control file of an upgraded log: %+v %v %v (log generation %x)", c, ok, err, l.Generation())
	}
	extra := genRecords(rand.New(rand.NewPCG(41, 42)), 5, 200)
	appendAll(t, rand.New(rand.NewPCG(43, 44)), l, extra)
	l.Close()
	full, _ := os.ReadFile(path)
	if err := os.WriteFile(path, full[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, path, ErrTruncated)
	if err := os.WriteFile(path, full, 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, _ = openReplay(t, path, smallChunk)
	if err := l.Rewrite(records(recs[:2])); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := ReadControl(path); l.Generation() == 0 || c.Gen != l.Generation() || c.NextGen != 0 || c.Bound != l.End() {
		t.Fatalf("after Rewrite: control %+v, log generation %x end %d", c, l.Generation(), l.End())
	}
	l.Close()
}

// TestNewLogHeaderLost: a new log's header is not synced until the first
// Sync, and its control file's bound is 0 until then; a crash that loses
// the header leaves a log that opens (with the same generation).
func TestNewLogHeaderLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, err := Open(path, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen := l.Generation()
	c, _, _ := ReadControl(path)
	if gen == 0 || c.Gen != gen || c.Bound != 0 {
		t.Fatalf("new log: generation %x, control %+v", gen, c)
	}
	l.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	l, info, _ := openReplay(t, path, Options{})
	defer l.Close()
	if l.Generation() != gen || info.End != int64(headerLen) {
		t.Fatalf("reopened: generation %x end %d, want %x %d", l.Generation(), info.End, gen, headerLen)
	}
}

// TestBoundFollowsSync: the background keeper records the end of the last
// Sync within BoundInterval, without any call from the owner.
func TestBoundFollowsSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, err := Open(path, Options{BoundInterval: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(45, 46))
	for round := range 3 {
		appendAll(t, rng, l, genRecords(rng, 10, 100))
		// Written but not synced: never vouched for.
		if err := l.Write(AppendRecord(nil, 1, []byte("unsynced"))); err != nil {
			t.Fatal(err)
		}
		synced := l.End() - encodedSize(rec{p: []byte("unsynced")})
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, _, err := ReadControl(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.Bound == synced {
				break
			}
			if c.Bound > synced {
				t.Fatalf("round %d: bound %d is past the synced end %d", round, c.Bound, synced)
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: bound %d never reached the synced end %d", round, c.Bound, synced)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}
