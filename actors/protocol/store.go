package protocol

import (
	"fmt"
	"strconv"

	"github.com/txd/txd/wire"
)

// Store is a participant's key-value data. Values are strings; ADD treats
// them as signed 64-bit integers.
type Store map[string]string

// check reports why ops cannot run against s (the participant then votes NO),
// or nil. It simulates the ops in order without changing s.
func (s Store) check(ops []wire.Op) error {
	scratch := map[string]*string{}
	get := func(k string) (string, bool) {
		if v, ok := scratch[k]; ok {
			if v == nil {
				return "", false
			}
			return *v, true
		}
		v, ok := s[k]
		return v, ok
	}
	for _, op := range ops {
		switch op.Kind {
		case wire.OpSet:
			if n, err := strconv.ParseInt(op.Value, 10, 64); err == nil && n < 0 {
				return fmt.Errorf("%s would be %d", op.Key, n)
			}
			v := op.Value
			scratch[op.Key] = &v
		case wire.OpAdd:
			cur, _ := get(op.Key)
			n, err := addInt(cur, op.Delta)
			if err != nil {
				return fmt.Errorf("ADD %s: %v", op.Key, err)
			}
			if n < 0 {
				return fmt.Errorf("%s would be %d", op.Key, n)
			}
			v := strconv.FormatInt(n, 10)
			scratch[op.Key] = &v
		case wire.OpDel:
			scratch[op.Key] = nil
		default:
			return fmt.Errorf("unknown operation %q", op.Kind)
		}
	}
	return nil
}

// apply runs ops, which check accepted, against s, keeping size, s's
// size, up to date.
func (s Store) apply(ops []wire.Op, size *storeSize) {
	for _, op := range ops {
		switch op.Kind {
		case wire.OpSet:
			s.put(op.Key, op.Value, size)
		case wire.OpAdd:
			// check ran against the same state (the keys were locked since),
			// so the error cannot happen; keep the old value if it somehow does.
			if n, err := addInt(s[op.Key], op.Delta); err == nil {
				s.put(op.Key, strconv.FormatInt(n, 10), size)
			}
		case wire.OpDel:
			if old, ok := s[op.Key]; ok {
				size.drop(op.Key, old)
				delete(s, op.Key)
			}
		}
	}
}

func (s Store) put(k, v string, size *storeSize) {
	if old, ok := s[k]; ok {
		size.drop(k, old)
	}
	s[k] = v
	size.keys++
	size.keyBytes += len(k)
	size.valueBytes += len(v)
}

// storeSize is a store's size, kept exactly as it changes so that status
// reports it without walking the store.
type storeSize struct {
	keys, keyBytes, valueBytes int
}

func (z *storeSize) drop(k, v string) {
	z.keys--
	z.keyBytes -= len(k)
	z.valueBytes -= len(v)
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
