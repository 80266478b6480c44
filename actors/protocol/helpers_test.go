package protocol

import (
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

const (
	coordID   = "TC"
	coordAddr = "tc:7000"
	voteAfter = time.Second
	askAfter  = 2 * time.Second
)

func addrOf(id string) string { return strings.ToLower(id) + ":7001" }

// Op constructors and effect filters for the machines' unit tests.

func set(k, v string) wire.Op       { return wire.Op{Kind: wire.OpSet, Key: k, Value: v} }
func add(k string, d int64) wire.Op { return wire.Op{Kind: wire.OpAdd, Key: k, Delta: d} }
func del(k string) wire.Op          { return wire.Op{Kind: wire.OpDel, Key: k} }
func ops(o ...wire.Op) []wire.Op    { return o }

func sends(effs []Effect) []Send {
	var out []Send
	for _, e := range effs {
		if s, ok := e.(Send); ok {
			out = append(out, s)
		}
	}
	return out
}

func persists(effs []Effect) []Persist {
	var out []Persist
	for _, e := range effs {
		if p, ok := e.(Persist); ok {
			out = append(out, p)
		}
	}
	return out
}

func timersOf(effs []Effect) []SetTimer {
	var out []SetTimer
	for _, e := range effs {
		if t, ok := e.(SetTimer); ok {
			out = append(out, t)
		}
	}
	return out
}

func has[T Effect](effs []Effect) bool {
	for _, e := range effs {
		if _, ok := e.(T); ok {
			return true
		}
	}
	return false
}

var (
	kinds    = Kinds
	describe = Describe
)
