package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Lenient decoders for Status and its parts (their encoding stays msgpack's
// reflection). msgpack's reflection decoder refuses an as_array struct whose
// array has a different number of elements than the struct has fields, so
// every field added to a status would make readers and senders of different
// versions fail on each other. DecodeArrayStruct fills the fields it has and
// skips the ones it does not know. (Binaries from before these decoders
// still insist on the old field count.) Every list and map is checked
// against its limit (limits.go) before it is allocated.

var txStatusFields = []string{"TxID", "Protocol", "State", "Reason", "Participants", "Started", "Decided",
	"Heuristic", "Damage"}

func (m *TxStatus) DecodeMsgpack(d *msgpack.Decoder) error {
	states := MaxMembers + 1 // its own map, alone
	return m.decode(d, &states)
}

// decode decodes m; its participant states (and their map) take from
// *states, the budget of the whole Status.
func (m *TxStatus) decode(d *msgpack.Decoder, states *int) error {
	return DecodeArrayStruct(d, txStatusFields, func() { *m = TxStatus{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &m.TxID)
		case 1:
			return decodeString(d, &m.Protocol)
		case 2:
			return decodeString(d, &m.State)
		case 3:
			return DecodeReason(d, &m.Reason)
		case 4:
			return decodeStates(d, &m.Participants, states)
		case 5:
			return decodeInt64(d, &m.Started)
		case 6:
			return decodeInt64(d, &m.Decided)
		case 7:
			return decodeBool(d, &m.Heuristic)
		}
		return decodeBool(d, &m.Damage)
	})
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

var peerStatusFields = []string{"ID", "Addr", "Connected"}

func (m *PeerStatus) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, peerStatusFields, func() { *m = PeerStatus{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &m.ID)
		case 1:
			return decodeString(d, &m.Addr)
		}
		return decodeBool(d, &m.Connected)
	})
}

var statusFields = []string{"ReqID", "NodeID", "Role", "Store", "Participants", "Transactions",
	"Committed", "Aborted", "Boot", "Now"}

func (m *Status) DecodeMsgpack(d *msgpack.Decoder) error {
	states := MaxStatusStates
	return DecodeArrayStruct(d, statusFields, func() { *m = Status{} }, func(i int) (err error) {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.NodeID)
		case 2:
			return decodeString(d, &m.Role)
		case 3:
			n, err := decodeMapLen(d, "store keys", MaxStatusKeys)
			if err != nil {
				return err
			}
			return decodeStringMap(d, &m.Store, n)
		case 4:
			m.Participants, err = decodeSliceFunc(d, "participants", MaxMembers, func(p *PeerStatus) error {
				return p.DecodeMsgpack(d)
			})
			return err
		case 5:
			m.Transactions, err = decodeSliceFunc(d, "transactions", MaxStatusTxns, func(t *TxStatus) error {
				return t.decode(d, &states)
			})
			return err
		case 6:
			return decodeUint64(d, &m.Committed)
		case 7:
			return decodeUint64(d, &m.Aborted)
		case 8:
			return decodeInt64(d, &m.Boot)
		}
		return decodeInt64(d, &m.Now)
	})
}

func decodeInt64(d *msgpack.Decoder, p *int64) error {
	n, err := d.DecodeInt64()
	if err == nil {
		*p = n
	}
	return err
}
