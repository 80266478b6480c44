package participant

import (
	"maps"

	"github.com/txd/txd/internal/kv"
	"github.com/txd/txd/wire"
)

// engineView is the participant's data as it was when view was called: a
// copy of the overlay and a snapshot of the engine. Reads for clients
// (txcli get and scan) go through one on their own goroutine, so the
// participant actor never waits for the engine on their behalf, and each
// page still shows one state.
type engineView struct {
	over map[string]overlay
	kv   *kv.View
}

// view takes a view. It must be called where no commit runs concurrently
// (in the participant actor): the overlay is copied first, then the engine
// snapshotted; a commit the applier moves in between is in both, alike.
func (s *engineStore) view() (*engineView, error) {
	s.mu.Lock()
	over := maps.Clone(s.overlay)
	s.mu.Unlock()
	v, err := s.kv.View()
	if err != nil {
		return nil, err
	}
	return &engineView{over: over, kv: v}, nil
}

func (v *engineView) Get(key string) (string, bool, error) {
	if o, ok := v.over[key]; ok {
		return o.value, !o.del, nil
	}
	return v.kv.Get(key)
}

func (v *engineView) Scan(prefix, after string, limit int) ([]wire.Entry, bool, error) {
	mine, over := overlayRange(v.over, prefix, after)
	return mergeScan(mine, over, limit, func(n int) ([]kv.KV, bool, error) { return v.kv.Scan(prefix, after, n) })
}

func (v *engineView) close() { v.kv.Close() }
