package wire

import "github.com/vmihailenco/msgpack/v5"

// Lenient decoders for Status and TxStatus (their encoding stays
// msgpack's reflection). msgpack's reflection decoder refuses an
// as_array struct whose array has a different number of elements than the
// struct has fields, so every field added to a status would make readers
// and senders of different versions fail on each other. DecodeArrayStruct
// fills the fields it has and skips the ones it does not know. (Binaries
// from before these decoders still insist on the old field count.)

var txStatusFields = []string{"TxID", "Protocol", "State", "Reason", "Participants", "Started", "Decided",
	"Heuristic", "Damage"}

func (m *TxStatus) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, txStatusFields, func() { *m = TxStatus{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &m.TxID)
		case 1:
			return decodeString(d, &m.Protocol)
		case 2:
			return decodeString(d, &m.State)
		case 3:
			return decodeString(d, &m.Reason)
		case 4:
			return d.Decode(&m.Participants)
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

var statusFields = []string{"ReqID", "NodeID", "Role", "Store", "Participants", "Transactions",
	"Committed", "Aborted", "Boot", "Now"}

func (m *Status) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, statusFields, func() { *m = Status{} }, func(i int) error {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.NodeID)
		case 2:
			return decodeString(d, &m.Role)
		case 3:
			return d.Decode(&m.Store)
		case 4:
			return d.Decode(&m.Participants)
		case 5:
			return d.Decode(&m.Transactions)
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
