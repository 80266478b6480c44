package protocol

import (
	"github.com/txd/txd/wire"
)

// Reads of a participant's applied store: what status says of it, and the
// keys txcli get and scan read. They see committed values only (a prepared
// transaction's writes are applied at COMMIT) and change nothing.

// StoreSummary is what a participant's status says of its store.
type StoreSummary struct {
	Keys, KeyBytes, ValueBytes int
	// Store is a copy of the whole store when it is small (inline); nil
	// when it is not (Truncated).
	Store     map[string]string
	Truncated bool
}

// StoreSummary sums up the store without walking it, and copies it when it
// holds at most maxKeys keys of at most maxBytes bytes of keys and values.
func (p *Participant) StoreSummary(maxKeys, maxBytes int) (StoreSummary, error) {
	z := p.store.Size()
	sum := StoreSummary{Keys: z.Keys, KeyBytes: z.KeyBytes, ValueBytes: z.ValueBytes}
	if z.Keys > maxKeys || z.KeyBytes+z.ValueBytes > maxBytes {
		sum.Truncated = true
		return sum, nil
	}
	entries, more, err := p.store.Scan("", "", max(maxKeys, 1))
	if err != nil {
		return sum, err
	}
	used := 0
	for _, e := range entries {
		used += len(e.Key) + len(e.Value)
	}
	if more || used > maxBytes {
		// The size lags behind the keys (a storage engine counts the
		// commits it has written): too large to inline after all.
		sum.Truncated = true
		return sum, nil
	}
	sum.Store = make(map[string]string, len(entries))
	for _, e := range entries {
		sum.Store[e.Key] = e.Value
	}
	return sum, nil
}

// Get answers keys in their order from the store (GetFrom).
func (p *Participant) Get(keys []string, maxBytes int) ([]wire.GetEntry, error) {
	return GetFrom(p.store, keys, maxBytes)
}

// Scan returns a page of the store (ScanFrom).
func (p *Participant) Scan(prefix, after string, limit, maxBytes int) ([]wire.Entry, bool, error) {
	return ScanFrom(p.store, prefix, after, limit, maxBytes)
}

// GetFrom answers keys in their order, each with its value if r holds it,
// until the next one would take the answer over maxBytes of keys and
// values; the first is always answered. Fewer entries than keys means the
// caller asks again for the rest.
func GetFrom(r Reader, keys []string, maxBytes int) ([]wire.GetEntry, error) {
	out := make([]wire.GetEntry, 0, len(keys))
	used := 0
	for _, k := range keys {
		v, ok, err := r.Get(k)
		if err != nil {
			return nil, err
		}
		n := len(k) + len(v)
		if len(out) > 0 && used+n > maxBytes {
			break
		}
		used += n
		out = append(out, wire.GetEntry{Key: k, Value: v, Found: ok})
	}
	return out, nil
}

// ScanFrom returns, in byte order, the keys of r that start with prefix
// and sort after after ("": from the first), with their values: at most
// limit of them, and no more than fit in maxBytes of keys and values (at
// least one). more says keys under prefix remain after the last one
// returned.
func ScanFrom(r Reader, prefix, after string, limit, maxBytes int) (entries []wire.Entry, more bool, err error) {
	if limit <= 0 {
		return nil, false, nil
	}
	page, more, err := r.Scan(prefix, after, limit)
	if err != nil {
		return nil, false, err
	}
	used := 0
	for i, e := range page {
		if i > 0 && used+len(e.Key)+len(e.Value) > maxBytes {
			return page[:i], true, nil
		}
		used += len(e.Key) + len(e.Value)
	}
	return page, more, nil
}

// storeMap is a copy of the whole store, for Status (tests and
// simulators, whose stores are small). A store that cannot be read panics:
// only a host's engine can fail, and a host reads through StoreSummary.
func (p *Participant) storeMap() map[string]string {
	if m, ok := p.store.(*MemStore); ok {
		return m.clone()
	}
	out := map[string]string{}
	after := ""
	for {
		page, more, err := p.store.Scan("", after, 1000)
		if err != nil {
			panic(err)
		}
		for _, e := range page {
			out[e.Key] = e.Value
		}
		if !more || len(page) == 0 {
			return out
		}
		after = page[len(page)-1].Key
	}
}
