package participant

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
)

func openTestEngine(t *testing.T, dir string) *engineStore {
	t.Helper()
	s, err := openEngine(dir, func(err error) { t.Errorf("engine stopped: %v", err) }, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitApplied polls until the engine holds the commits up to seq.
func waitApplied(t *testing.T, s *engineStore, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.kv.Seq() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("engine at %d, want %d", s.kv.Seq(), seq)
		}
		time.Sleep(time.Millisecond)
	}
}

func set(k, v string) wire.Op { return wire.Op{Kind: wire.OpSet, Key: k, Value: v} }
func del(k string) wire.Op    { return wire.Op{Kind: wire.OpDel, Key: k} }

// TestEngineAppliesOnlyDurableCommits: a commit is read at once (from the
// overlay) but reaches the engine only once the log says it is durable,
// in sequence order even when numbered out of order (a heuristic commit).
func TestEngineAppliesOnlyDurableCommits(t *testing.T) {
	dir := t.TempDir()
	s := openTestEngine(t, dir)
	s.Commit(2, []wire.Op{set("b", "2")})
	s.Commit(1, []wire.Op{set("a", "1"), del("b")})
	if v, ok, _ := s.Get("a"); !ok || v != "1" {
		t.Fatalf("a = %q %v before durable, want 1 from the overlay", v, ok)
	}
	if _, ok, _ := s.kv.Get("a"); ok || s.kv.Seq() != 0 {
		t.Fatal("the engine took a commit the log does not hold durably")
	}
	s.Durable(1)
	waitApplied(t, s, 1)
	if v, ok, _ := s.Get("b"); !ok || v != "2" {
		t.Fatalf("b = %q %v, want 2 (commit 2, still in the overlay)", v, ok)
	}
	s.Durable(2)
	if err := s.SyncThrough(2); err != nil {
		t.Fatal(err)
	}
	if s.kv.Durable() != 2 || len(s.overlay) != 0 || len(s.queue) != 0 {
		t.Fatalf("after SyncThrough(2): durable %d, overlay %d, queue %d", s.kv.Durable(), len(s.overlay), len(s.queue))
	}
	if sz := s.Size(); sz.Keys != 2 || sz.KeyBytes != 2 || sz.ValueBytes != 2 {
		t.Fatalf("size %+v, want 2 keys of 1+1 bytes", sz)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestEngine(t, dir)
	defer s.Close()
	if s.Seq() != 2 {
		t.Fatalf("reopened at %d, want 2", s.Seq())
	}
	if v, _, _ := s.Get("b"); v != "2" {
		t.Fatalf("reopened: b = %q", v)
	}
}

// TestEngineScanMergesTheOverlay: pages of a store whose latest commits
// (sets, overwrites, deletes) are partly in the overlay hold exactly the
// model's keys, in order, whatever the page size.
func TestEngineScanMergesTheOverlay(t *testing.T) {
	s := openTestEngine(t, t.TempDir())
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	seq := uint64(0)
	commit := func(durable bool) {
		var w []wire.Op
		for range 1 + r.IntN(20) {
			k := fmt.Sprintf("k%03d", r.IntN(300))
			if r.IntN(4) == 0 {
				w = append(w, del(k))
				delete(model, k)
			} else {
				v := fmt.Sprint(r.IntN(1000))
				w = append(w, set(k, v))
				model[k] = v
			}
		}
		seq++
		s.Commit(seq, w)
		if durable {
			s.Durable(seq)
		}
	}
	for range 100 {
		commit(true)
	}
	waitApplied(t, s, seq)
	for range 10 {
		commit(false) // stays in the overlay
	}
	want := slices.Sorted(maps.Keys(model))
	for _, limit := range []int{1, 3, 17, 1000} {
		var got []string
		after := ""
		for {
			page, more, err := s.Scan("k", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 && more || len(page) > limit {
				t.Fatalf("limit %d: a page of %d, more %v", limit, len(page), more)
			}
			for _, e := range page {
				if model[e.Key] != e.Value {
					t.Fatalf("%s = %q, want %q", e.Key, e.Value, model[e.Key])
				}
				got = append(got, e.Key)
			}
			if !more {
				break
			}
			after = page[len(page)-1].Key
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: %d keys, want %d in order", limit, len(got), len(want))
		}
	}
}

// TestSyncThroughGivesUpWhenStopping: a checkpoint waiting for a commit
// the actor has not handed over yet (an operator's COMMIT, numbered 1,
// applied once durable) is skipped when the node stops, instead of
// waiting for an actor that is gone.
func TestSyncThroughGivesUpWhenStopping(t *testing.T) {
	s := openTestEngine(t, t.TempDir())
	defer s.Close()
	s.Commit(2, []wire.Op{set("b", "2")})
	s.Durable(2)
	done := make(chan error, 1)
	go func() { done <- s.SyncThrough(2) }()
	s.stop()
	select {
	case err := <-done:
		if !errors.Is(err, walwriter.ErrCheckpointLater) {
			t.Fatalf("SyncThrough after stop: %v, want ErrCheckpointLater", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SyncThrough still waits after stop")
	}
	if s.kv.Seq() != 0 {
		t.Fatalf("the engine took commit 2 before 1: at %d", s.kv.Seq())
	}
}
