package protocol

import (
	"maps"
	"slices"
	"strings"

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
func (p *Participant) StoreSummary(maxKeys, maxBytes int) StoreSummary {
	z := p.size
	sum := StoreSummary{Keys: z.keys, KeyBytes: z.keyBytes, ValueBytes: z.valueBytes}
	if z.keys > maxKeys || z.keyBytes+z.valueBytes > maxBytes {
		sum.Truncated = true
		return sum
	}
	sum.Store = maps.Clone(map[string]string(p.store))
	return sum
}

// Get answers keys in their order, each with its value if the store holds
// it, until the next one would take the answer over maxBytes of keys and
// values; the first is always answered. Fewer entries than keys means the
// caller asks again for the rest.
func (p *Participant) Get(keys []string, maxBytes int) []wire.GetEntry {
	out := make([]wire.GetEntry, 0, len(keys))
	used := 0
	for _, k := range keys {
		v, ok := p.store[k]
		n := len(k) + len(v)
		if len(out) > 0 && used+n > maxBytes {
			break
		}
		used += n
		out = append(out, wire.GetEntry{Key: k, Value: v, Found: ok})
	}
	return out
}

// Scan returns, in byte order, the keys that start with prefix and sort
// after after ("": from the first), with their values: at most limit of
// them, and no more than fit in maxBytes of keys and values (at least
// one). more says keys under prefix remain after the last one returned.
//
// A Go map has no order, so each call walks the whole store and keeps the
// limit+1 smallest keys that qualify: O(store) per page, memory O(limit).
// The storage engine that replaces the map keeps its keys ordered, and a
// page then costs only its own keys.
func (p *Participant) Scan(prefix, after string, limit, maxBytes int) (entries []wire.Entry, more bool) {
	if limit <= 0 {
		return nil, false
	}
	// best holds the smallest qualifying keys seen so far, sorted: one
	// more than the page, to know whether more remain.
	keep := limit + 1
	best := make([]string, 0, min(keep, len(p.store)))
	for k := range p.store {
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
	used := 0
	for i, k := range best {
		v := p.store[k]
		if i == limit || (i > 0 && used+len(k)+len(v) > maxBytes) {
			return entries, true
		}
		used += len(k) + len(v)
		entries = append(entries, wire.Entry{Key: k, Value: v})
	}
	return entries, false
}
