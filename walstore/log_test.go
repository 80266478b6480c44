package walstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripReopenAppend(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// A small chunk makes Write grow the file many times, including by
	// batches larger than one chunk.
	opts := Options{PreallocChunk: 4096}
	path := filepath.Join(t.TempDir(), "node.wal")

	l, info, got := openReplay(t, path, opts)
	if info.Records != 0 || info.End != int64(headerLen) || info.TornAt != -1 || len(got) != 0 {
		t.Fatalf("new log: info %+v, %d records", info, len(got))
	}
	first := genRecords(rng, 1500, 9000)
	appendAll(t, rng, l, first)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size()%4096 != 0 || fi.Size() < l.End() {
		t.Fatalf("file size %d: want a multiple of the chunk covering end %d", fi.Size(), l.End())
	}

	l, info, got = openReplay(t, path, opts)
	sameRecords(t, got, first)
	if info.TornAt != -1 || info.TornCopy != "" {
		t.Fatalf("clean log reported torn tail: %+v", info)
	}
	second := genRecords(rng, 500, 9000)
	appendAll(t, rng, l, second)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, _, got = openReplay(t, path, opts)
	defer l.Close()
	sameRecords(t, got, append(first, second...))
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, err := Open(path, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(path, Options{}, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: err = %v, want ErrLocked naming %s", err, path)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, _, err = Open(path, Options{}, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l.Close()
}

func TestSyncErrorIsSticky(t *testing.T) {
	injected := errors.New("injected EIO")
	var fail bool
	calls := 0
	opts := Options{SyncFunc: func(*os.File) error {
		calls++
		if fail {
			return injected
		}
		return nil
	}}
	l, _, err := Open(filepath.Join(t.TempDir(), "node.wal"), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := AppendRecord(nil, 1, []byte("vote yes"))
	if err := l.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := l.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, injected) {
		t.Fatalf("Sync: err = %v, want the injected error", err)
	}
	fail = false // the disk "recovers"; the log must not believe it
	before := calls
	if err := l.Write(rec); !errors.Is(err, injected) {
		t.Fatalf("Write after failed Sync: err = %v, want the injected error", err)
	}
	if err := l.Sync(); !errors.Is(err, injected) {
		t.Fatalf("second Sync: err = %v, want the injected error", err)
	}
	if err := l.Rewrite(nil); !errors.Is(err, injected) {
		t.Fatalf("Rewrite after failed Sync: err = %v, want the injected error", err)
	}
	if calls != before {
		t.Fatalf("fsync retried %d times after a failure", calls-before)
	}
}

func TestWriteErrorIsSticky(t *testing.T) {
	l, _, err := Open(filepath.Join(t.TempDir(), "node.wal"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Pull the descriptor out from under the Log to make WriteAt fail.
	l.f.Close()
	werr := l.Write(AppendRecord(nil, 1, []byte("x")))
	if werr == nil {
		t.Fatal("Write on a closed descriptor succeeded")
	}
	if err := l.Sync(); !errors.Is(err, werr) {
		t.Fatalf("Sync after failed Write: err = %v, want %v", err, werr)
	}
	if err := l.Write(AppendRecord(nil, 1, []byte("y"))); !errors.Is(err, werr) {
		t.Fatalf("Write after failed Write: err = %v, want %v", err, werr)
	}
}

func TestWriteRejectsBadBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, err := Open(path, Options{MaxRecord: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := AppendRecord(nil, 2, []byte("ok"))
	cases := []struct {
		name  string
		batch []byte
		want  error
	}{
		{"type 0", AppendRecord(bytes.Clone(good), 0, []byte("zero")), errBadBatch},
		{"header type", AppendRecord(bytes.Clone(good), headerType, []byte("not mine")), errBadBatch},
		{"too large", AppendRecord(bytes.Clone(good), 1, make([]byte, 101)), ErrTooLarge},
		{"unframable", append(binary.BigEndian.AppendUint32(nil, unframable), 0, 0, 0, 0), ErrTooLarge},
		{"cut short", good[:len(good)-1], errBadBatch},
		{"partial header", append(bytes.Clone(good), 0, 0, 0), errBadBatch},
	}
	for _, c := range cases {
		if err := l.Write(c.batch); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if l.End() != int64(headerLen) {
			t.Fatalf("%s: rejected batch moved End to %d", c.name, l.End())
		}
	}
	// Rejections are not I/O failures and must not poison the log.
	limit := AppendRecord(nil, 1, make([]byte, 100))
	if err := l.Write(append(good, limit...)); err != nil {
		t.Fatalf("valid Write after rejections: %v", err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, info, _ := openReplay(t, path, Options{MaxRecord: 100})
	defer l.Close()
	if info.Records != 2 {
		t.Fatalf("replayed %d records, want 2", info.Records)
	}
}

func TestClosed(t *testing.T) {
	l, _, err := Open(filepath.Join(t.TempDir(), "node.wal"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Write":   l.Write(AppendRecord(nil, 1, nil)),
		"Sync":    l.Sync(),
		"Rewrite": l.Rewrite(nil),
		"Close":   l.Close(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

func TestReplayCallbackError(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := genRecords(rng, 10, 100)
	path, _ := buildLog(t, t.TempDir(), "node.wal", Options{}, recs)
	stop := errors.New("bad record for the state machine")
	n := 0
	_, info, err := Open(path, Options{}, func(Record) error {
		if n++; n == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want the callback's error naming %s", err, path)
	}
	if info.Records != 3 {
		t.Fatalf("info.Records = %d, want 3", info.Records)
	}
	// The failed Open must have released the lock.
	l, _, got := openReplay(t, path, Options{})
	defer l.Close()
	sameRecords(t, got, recs)
}

func TestRewrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	opts := Options{PreallocChunk: 1024}
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, _ := openReplay(t, path, opts)
	appendAll(t, rng, l, genRecords(rng, 100, 3000))

	kept := genRecords(rng, 3, 50)
	var in []Record
	off := int64(headerLen)
	for i := range kept {
		in = append(in, Record{Type: kept[i].t, Payload: kept[i].p, Offset: 999})
		kept[i].off = off
		off += encodedSize(kept[i])
	}
	if err := l.Rewrite(in); err != nil {
		t.Fatalf("Rewrite: %v", err)
	}
	if l.End() != off {
		t.Fatalf("End after Rewrite = %d, want %d", l.End(), off)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	// The lock must have moved to the new file with the rename.
	if _, _, err := Open(path, opts, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open after Rewrite: err = %v, want ErrLocked", err)
	}
	more := genRecords(rng, 20, 3000)
	appendAll(t, rng, l, more)
	l.Close()

	l, _, got := openReplay(t, path, opts)
	sameRecords(t, got, append(kept, more...))

	// A Rewrite that breaks a limit changes nothing.
	if err := l.Rewrite([]Record{{Type: 0}}); !errors.Is(err, errBadBatch) {
		t.Fatalf("Rewrite with type 0: err = %v", err)
	}
	l.Close()
	l, _, got = openReplay(t, path, opts)
	defer l.Close()
	sameRecords(t, got, append(kept, more...))
}

func TestSyncAfterGrowthIsFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.wal")
	l, _, err := Open(path, Options{PreallocChunk: 512}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(AppendRecord(nil, 1, make([]byte, 10))); err != nil {
		t.Fatal(err)
	}
	if !l.grown || l.size != 512 {
		t.Fatalf("after first Write: grown=%v size=%d, want true 512", l.grown, l.size)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(AppendRecord(nil, 1, make([]byte, 10))); err != nil {
		t.Fatal(err)
	}
	if l.grown {
		t.Fatal("Write within the preallocated chunk marked the file as grown")
	}
	syncs := l.syncs
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if l.syncs != syncs+1 {
		t.Fatalf("two Syncs with one Write between issued %d fsyncs, want 1", l.syncs-syncs)
	}
}
