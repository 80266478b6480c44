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

// effectsOf lists the effects of type T among effs, in order.
func effectsOf[T Effect](effs []Effect) []T {
	var out []T
	for _, e := range effs {
		if x, ok := e.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func sends(effs []Effect) []Send        { return effectsOf[Send](effs) }
func persists(effs []Effect) []Persist  { return effectsOf[Persist](effs) }
func timersOf(effs []Effect) []SetTimer { return effectsOf[SetTimer](effs) }

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
