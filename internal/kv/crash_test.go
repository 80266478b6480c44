package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// history applies random batches to s and remembers the state after each
// sequence, so a store found after a crash can be checked against the state
// its own sequence names.
type history struct {
	rng    *rand.Rand
	cur    model
	states map[uint64]model
	seq    uint64
}

func newHistory(seed uint64) *history {
	return &history{rng: rand.New(rand.NewPCG(seed, 7)), cur: model{}, states: map[uint64]model{0: {}}}
}

func (h *history) step(t *testing.T, s *Store) {
	t.Helper()
	ops := make([]Op, 1+h.rng.IntN(20))
	for i := range ops {
		k := fmt.Sprintf("key%03d", h.rng.IntN(200))
		if h.rng.IntN(5) == 0 {
			ops[i] = del(k)
		} else {
			ops[i] = set(k, strings.Repeat(string(rune('a'+h.rng.IntN(26))), h.rng.IntN(2000)))
		}
	}
	h.seq++
	mustApply(t, s, h.seq, ops...)
	h.cur.apply(ops)
	h.states[h.seq] = maps.Clone(h.cur)
}

// checkRecovered opens what a crash left and checks that it is exactly the
// state after one applied batch, not older than durable.
func (h *history) checkRecovered(t *testing.T, s *Store, durable uint64) {
	t.Helper()
	got := s.Seq()
	if got < durable || got > h.seq {
		t.Fatalf("recovered Seq %d outside [durable %d, applied %d]", got, durable, h.seq)
	}
	if s.Durable() != got {
		t.Fatalf("recovered Durable %d, Seq %d", s.Durable(), got)
	}
	h.states[got].check(t, s)
}

// TestCrashShowsAWholeBatch copies the files at random points, keeping a
// random share of what was written but not synced (as a machine that loses
// power does), with memtables small enough that the engine also flushes on
// its own; every copy opens as exactly the state after one batch.
func TestCrashShowsAWholeBatch(t *testing.T) {
	fs := vfs.NewCrashableMem()
	opts := Options{fs: fs, CacheBytes: 1 << 20, MemTableBytes: 256 << 10}
	s, err := Open("db", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := newHistory(1)
	rng := rand.New(rand.NewPCG(2, 3))
	crashes := 0
	for range 400 {
		h.step(t, s)
		if rng.IntN(25) == 0 {
			if _, err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(10) != 0 {
			continue
		}
		durable := s.Durable()
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		copts := opts
		copts.fs = clone
		r, err := Open("db", copts)
		if err != nil {
			t.Fatalf("open after crash at %d: %v", h.seq, err)
		}
		h.checkRecovered(t, r, durable)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		crashes++
	}
	if crashes < 20 {
		t.Fatalf("only %d crash points", crashes)
	}
}

// TestCloseWithoutSync: what Close drops is a suffix of whole batches.
func TestCloseWithoutSync(t *testing.T) {
	dir := t.TempDir()
	h := newHistory(3)
	for round := range 3 {
		s, err := Open(dir, Options{CacheBytes: 1 << 20, MemTableBytes: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		if s.Seq() != 0 {
			h.checkRecovered(t, s, 0)
			// Go on from what survived, as the owner replaying its log does.
			h.seq = s.Seq()
			h.cur = maps.Clone(h.states[h.seq])
		}
		for range 30 + 20*round {
			h.step(t, s)
		}
		if _, err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		durable := s.Durable()
		for range 30 {
			h.step(t, s)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		h.checkRecovered(t, r, durable)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
