package kv

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestReadsDuringApplyAndClose: readers running while batches are applied,
// synced and the store is closed see every key that is always there, and
// after Close get ErrClosed, never a panic.
func TestReadsDuringApplyAndClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{CacheBytes: 1 << 20, MemTableBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, set("always", "here"))
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, ok, err := s.Get("always")
				if errors.Is(err, ErrClosed) {
					errs <- nil
					return
				}
				if err != nil || !ok || v != "here" {
					errs <- fmt.Errorf("Get(always) = %q, %v, %v", v, ok, err)
					return
				}
				if _, _, err := s.Scan("k", "", 50); err != nil && !errors.Is(err, ErrClosed) {
					errs <- err
					return
				}
				_ = s.Stats()
			}
		}()
	}
	for seq := uint64(2); seq < 200; seq++ {
		mustApply(t, s, seq, set(fmt.Sprintf("k%d", seq%50), fmt.Sprint(seq)), del(fmt.Sprintf("k%d", (seq+7)%50)))
		if seq%40 == 0 {
			if _, err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
