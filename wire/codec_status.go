package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Lenient decoders for Status and its parts (their encoding stays msgpack's
// reflection; the decoders are generated, status_codec_gen.go). msgpack's
// reflection decoder refuses an as_array struct whose array has a different
// number of elements than the struct has fields, so every field added to a
// status would make readers and senders of different versions fail on each
// other. DecodeArrayStruct fills the fields it has and skips the ones it
// does not know. (Binaries from before these decoders still insist on the
// old field count.) Every list and map is checked against its limit
// (limits.go) before it is allocated; the participant states of all the
// transactions of one Status share one budget, MaxStatusStates, which the
// hand-written hooks below carry.

// DecodeMsgpack decodes a TxStatus on its own: its participant states (and
// their map) take from a budget of their own.
func (m *TxStatus) DecodeMsgpack(d *msgpack.Decoder) error {
	states := MaxMembers + 1 // its own map, alone
	return m.decode(d, &states)
}

// decodeTransactions decodes Status.Transactions: at most MaxStatusTxns,
// whose participant states together take from one MaxStatusStates budget.
func decodeTransactions(d *msgpack.Decoder, p *[]TxStatus) (err error) {
	states := MaxStatusStates
	*p, err = decodeSliceFunc(d, "transactions", MaxStatusTxns, func(t *TxStatus) error {
		return t.decode(d, &states)
	})
	return err
}

// decodeStates decodes one transaction's participant states: at most
// MaxMembers, and the map and its entries come out of *budget.
func decodeStates(d *msgpack.Decoder, p *map[string]State, budget *int) error {
	n, err := decodeMapLen(d, "participant states", MaxMembers)
	if err != nil {
		return err
	}
	if *budget -= n + 1; *budget < 0 {
		return fmt.Errorf("%w: more than %d participant states in a status", ErrOverLimit, MaxStatusStates)
	}
	return decodeStringMap(d, p, n)
}

// txDoubtFields are TxDoubt's msgpack fields in declaration order.
var txDoubtFields = []string{"Coord", "CoordAddr", "Members"}

// decodeDoubt decodes an in-doubt transaction's coordinator and members:
// at most MaxMembers, each out of *budget, shared with the participant
// states, so that a status cannot declare many large lists.
func decodeDoubt(d *msgpack.Decoder, p **TxDoubt, budget *int) error {
	if c, err := d.PeekCode(); err != nil || c == msgpcode.Nil {
		*p = nil
		if err != nil {
			return err
		}
		return d.DecodeNil()
	}
	if *budget--; *budget < 0 {
		return fmt.Errorf("%w: more than %d participant states in a status", ErrOverLimit, MaxStatusStates)
	}
	t := &TxDoubt{}
	*p = t
	return DecodeArrayStruct(d, txDoubtFields, func() { *t = TxDoubt{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &t.Coord)
		case 1:
			return decodeString(d, &t.CoordAddr)
		case 2:
			n, err := decodeArrayLen(d, "members", MaxMembers)
			if err != nil || n == -1 {
				t.Members = nil
				return err
			}
			if *budget -= n; *budget < 0 {
				return fmt.Errorf("%w: more than %d participant states in a status", ErrOverLimit, MaxStatusStates)
			}
			t.Members = make([]Member, n)
			for j := range t.Members {
				if err := t.Members[j].DecodeMsgpack(d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DecodeStringMap decodes a map with string keys and values, as reflection
// decodes into a nil map; a declared count over limit is refused before
// anything is allocated, what naming the entries in the error.
func DecodeStringMap[V ~string](d *msgpack.Decoder, what string, limit int) (map[string]V, error) {
	n, err := decodeMapLen(d, what, limit)
	if err != nil {
		return nil, err
	}
	var m map[string]V
	err = decodeStringMap(d, &m, n)
	return m, err
}

// mapPrealloc caps the room reserved up front for a decoded map: a map's
// entries may repeat a key, so its count says little about its size, and
// beyond this the map grows as distinct keys actually arrive.
const mapPrealloc = 64

// decodeStringMap decodes the n entries (-1: nil) of a map with string keys
// and values into a new map, as reflection decodes into a nil one.
func decodeStringMap[V ~string](d *msgpack.Decoder, p *map[string]V, n int) error {
	if n == -1 {
		*p = nil
		return nil
	}
	m := make(map[string]V, min(n, mapPrealloc))
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return err
		}
		v, err := d.DecodeString()
		if err != nil {
			return err
		}
		m[k] = V(v)
	}
	*p = m
	return nil
}
