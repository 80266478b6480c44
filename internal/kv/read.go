package kv

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// KV is one key and its value, as Scan returns them.
type KV struct {
	Key   string
	Value string
}

// MaxScanLimit bounds one Scan page.
const MaxScanLimit = 100_000

// Get returns key's value and whether it is present.
func (s *Store) Get(key string) (string, bool, error) {
	if err := checkKey("get", key); err != nil {
		return "", false, err
	}
	if err := s.enter(); err != nil {
		return "", false, err
	}
	defer s.life.RUnlock()
	return get(s.db, key)
}

// Scan returns, in key order, up to limit keys that start with prefix and
// sort after after (all of prefix's keys when after is ""), and whether
// more such keys follow. A caller pages by passing the last key returned as
// the next call's after.
func (s *Store) Scan(prefix, after string, limit int) ([]KV, bool, error) {
	if err := checkLimit(limit); err != nil {
		return nil, false, err
	}
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.life.RUnlock()
	return scan(s.db, prefix, after, limit)
}

// View is the store as it was when View was called, to read from any
// goroutine while batches are applied: an engine snapshot. Close it soon
// (it holds the store open and keeps overwritten values on disk).
type View struct {
	s    *Store
	snap *pebble.Snapshot
	once sync.Once
}

// View opens a view of the store as it is now.
func (s *Store) View() (*View, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	// life stays held until Close: the engine outlives its snapshots.
	return &View{s: s, snap: s.db.NewSnapshot()}, nil
}

// Get is Store.Get as of the view.
func (v *View) Get(key string) (string, bool, error) {
	if err := checkKey("get", key); err != nil {
		return "", false, err
	}
	return get(v.snap, key)
}

// Scan is Store.Scan as of the view.
func (v *View) Scan(prefix, after string, limit int) ([]KV, bool, error) {
	if err := checkLimit(limit); err != nil {
		return nil, false, err
	}
	return scan(v.snap, prefix, after, limit)
}

// Close releases the view; later calls are not allowed.
func (v *View) Close() error {
	var err error
	v.once.Do(func() {
		err = v.snap.Close()
		v.s.life.RUnlock()
	})
	return err
}

func checkKey(what, key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("kv: %s: key of %d bytes: want 1 to %d", what, len(key), MaxKeyLen)
	}
	return nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxScanLimit {
		return fmt.Errorf("kv: scan: limit %d: want 1 to %d", limit, MaxScanLimit)
	}
	return nil
}

func get(r pebble.Reader, key string) (string, bool, error) {
	v, closer, err := r.Get(dataKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("kv: get: %w", err)
	}
	val := string(v)
	return val, true, closer.Close()
}

func scan(r pebble.Reader, prefix, after string, limit int) ([]KV, bool, error) {
	lower := dataKey(prefix)
	if after != "" {
		if a := append(dataKey(after), 0); bytes.Compare(a, lower) > 0 {
			lower = a
		}
	}
	upper := prefixEnd(dataKey(prefix))
	if bytes.Compare(lower, upper) >= 0 {
		return nil, false, nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, false, fmt.Errorf("kv: scan: %w", err)
	}
	var page []KV
	ok := it.First()
	for ; ok && len(page) < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, false, fmt.Errorf("kv: scan: %w", err)
		}
		page = append(page, KV{Key: string(it.Key()[1:]), Value: string(v)})
	}
	if err := it.Close(); err != nil {
		return nil, false, fmt.Errorf("kv: scan: %w", err)
	}
	return page, ok, nil
}

// prefixEnd is the first key after every key that starts with p: p with its
// last byte below 0xff incremented. p starts with dataPrefix, so it is never
// empty nor all 0xff, and the result is never nil.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
