package protocol

import (
	"maps"
	"slices"
	"strings"

	"github.com/txd/txd/wire"
)

// MemStore is a Store held wholly in memory: the simulators' and tests'
// store, and a participant's without a storage engine. It keeps nothing
// across restarts (Seq is 0: replay applies every commit), so a checkpoint
// writes it into the log as STORE records (Snapshot).
type MemStore struct {
	m    map[string]string
	size StoreSize // kept exactly as it changes, so Size never walks the map
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string]string{}} }

func (s *MemStore) Get(key string) (string, bool, error) {
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *MemStore) Commit(_ uint64, writes []wire.Op) {
	for _, op := range writes {
		switch op.Kind {
		case wire.OpSet:
			s.put(op.Key, op.Value)
		case wire.OpDel:
			if old, ok := s.m[op.Key]; ok {
				s.drop(op.Key, old)
				delete(s.m, op.Key)
			}
		}
	}
}

func (s *MemStore) Seq() uint64     { return 0 }
func (s *MemStore) Size() StoreSize { return s.size }

func (s *MemStore) put(k, v string) {
	if old, ok := s.m[k]; ok {
		s.drop(k, old)
	}
	s.m[k] = v
	s.size.Keys++
	s.size.KeyBytes += len(k)
	s.size.ValueBytes += len(v)
}

func (s *MemStore) drop(k, v string) {
	s.size.Keys--
	s.size.KeyBytes -= len(k)
	s.size.ValueBytes -= len(v)
}

// Scan: a Go map has no order, so each call walks the whole store and
// keeps the limit+1 smallest keys that qualify: O(store) per page, memory
// O(limit). A storage engine keeps its keys ordered, and a page then costs
// only its own keys.
func (s *MemStore) Scan(prefix, after string, limit int) ([]wire.Entry, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	// best holds the smallest qualifying keys seen so far, sorted: one
	// more than the page, to know whether more remain.
	keep := limit + 1
	best := make([]string, 0, min(keep, len(s.m)))
	for k := range s.m {
		if k <= after || !strings.HasPrefix(k, prefix) {
			continue
		}
		if len(best) == keep {
			if k >= best[keep-1] {
				continue
			}
			best = best[:keep-1]
		}
		i, _ := slices.BinarySearch(best, k)
		best = slices.Insert(best, i, k)
	}
	more := len(best) > limit
	entries := make([]wire.Entry, 0, min(len(best), limit))
	for _, k := range best[:min(len(best), limit)] {
		entries = append(entries, wire.Entry{Key: k, Value: s.m[k]})
	}
	return entries, more, nil
}

// storeRecords is the store as STORE records, for a checkpoint.
func (s *MemStore) storeRecords() []Record {
	var recs []Record
	var ops []wire.Op
	bytes := 0
	for k, v := range s.m {
		if len(ops) == storeChunk || len(ops) > 0 && bytes+len(k)+len(v) > storeChunkBytes {
			recs = append(recs, Record{Kind: RecStore, Ops: ops})
			ops, bytes = nil, 0
		}
		ops = append(ops, wire.Op{Kind: wire.OpSet, Key: k, Value: v})
		bytes += len(k) + len(v)
	}
	if len(ops) > 0 {
		recs = append(recs, Record{Kind: RecStore, Ops: ops})
	}
	return recs
}

// clone is a copy of the whole map.
func (s *MemStore) clone() map[string]string { return maps.Clone(s.m) }
