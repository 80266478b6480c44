package protocol

import (
	"fmt"
	"strconv"

	"github.com/txd/txd/wire"
)

// Store is a participant's applied data as the state machine sees it: the
// values its committed transactions wrote. Values are strings; ADD treats
// them as signed 64-bit integers. Every commit reaches the store under its
// apply sequence number (1, 2, … in commit order; Record.Seq), so a store
// that keeps its data across restarts (a storage engine) tells replay which
// commits it already holds.
//
// The state machine calls it from its host's goroutine: Commit must not
// wait for a disk. MemStore keeps everything in memory; a host may put the
// data on disk behind the same calls.
type Store interface {
	Reader
	// Commit applies the writes of the committed transaction numbered seq:
	// SETs and DELs, in order (ADDs resolved to SETs). A commit with no
	// writes still takes its number.
	Commit(seq uint64, writes []wire.Op)
	// Seq is the last sequence the store held when the participant was
	// built from it: replay applies only the commits after it.
	Seq() uint64
	// Size is the store's size.
	Size() StoreSize
}

// Reader reads a store, or a view of one a host took.
type Reader interface {
	// Get returns key's value, every commit handed to Commit included.
	Get(key string) (value string, ok bool, err error)
	// Scan returns, in byte order, up to limit keys that start with prefix
	// and sort after after ("": from the first), with their values, and
	// whether more such keys follow.
	Scan(prefix, after string, limit int) ([]wire.Entry, bool, error)
}

// StoreSize is a store's size: its keys and the bytes of its keys and values.
type StoreSize struct {
	Keys, KeyBytes, ValueBytes int
}

// resolve checks ops against the store as get reads it and returns their
// writes: the ops in order with each ADD replaced by the SET of its result.
// An error says why the ops cannot run (the participant then votes NO).
// Nothing is changed.
func resolve(get func(string) (string, bool, error), ops []wire.Op) ([]wire.Op, error) {
	scratch := map[string]*string{}
	read := func(k string) (string, error) {
		if v, ok := scratch[k]; ok {
			if v == nil {
				return "", nil
			}
			return *v, nil
		}
		v, _, err := get(k)
		return v, err
	}
	writes := make([]wire.Op, 0, len(ops))
	for _, op := range ops {
		switch op.Kind {
		case wire.OpSet:
			if n, err := strconv.ParseInt(op.Value, 10, 64); err == nil && n < 0 {
				return nil, fmt.Errorf("%s would be %d", op.Key, n)
			}
			v := op.Value
			scratch[op.Key] = &v
			writes = append(writes, op)
		case wire.OpAdd:
			cur, err := read(op.Key)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %v", op.Key, err)
			}
			n, err := addInt(cur, op.Delta)
			if err != nil {
				return nil, fmt.Errorf("ADD %s: %v", op.Key, err)
			}
			if n < 0 {
				return nil, fmt.Errorf("%s would be %d", op.Key, n)
			}
			v := strconv.FormatInt(n, 10)
			scratch[op.Key] = &v
			writes = append(writes, wire.Op{Kind: wire.OpSet, Key: op.Key, Value: v})
		case wire.OpDel:
			scratch[op.Key] = nil
			writes = append(writes, wire.Op{Kind: wire.OpDel, Key: op.Key})
		default:
			return nil, fmt.Errorf("unknown operation %q", op.Kind)
		}
	}
	return writes, nil
}

// addInt adds d to the integer in v ("" counts as 0), refusing overflow.
func addInt(v string, d int64) (int64, error) {
	var cur int64
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			// The value may be large: quote its start only (a reason is
			// at most wire.MaxReasonLen bytes).
			return 0, fmt.Errorf("value %q is not an integer", wire.ShortText(v, 40))
		}
		cur = n
	}
	sum := cur + d
	if (d > 0 && sum < cur) || (d < 0 && sum > cur) {
		return 0, fmt.Errorf("%d + %d overflows", cur, d)
	}
	return sum, nil
}

// keysOf lists the distinct keys ops touch.
func keysOf(ops []wire.Op) []string {
	seen := make(map[string]bool, len(ops))
	keys := make([]string, 0, len(ops))
	for _, op := range ops {
		if !seen[op.Key] {
			seen[op.Key] = true
			keys = append(keys, op.Key)
		}
	}
	return keys
}
