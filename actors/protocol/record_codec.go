package protocol

import (
	"github.com/txd/txd/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// A hand-written msgpack codec for Record: the WAL encodes one per logged
// step, and msgpack's reflection path was a large share of a node's CPU.
// The bytes are exactly those of the reflection encoding (an as_array
// struct: its fields in declaration order, Kind excluded), so existing log
// files replay unchanged; see wire/codec_kit.go for the rules and
// record_codec_test.go for the check against reflection.

// maxRecordOps bounds the operations of a decoded record: a transaction's
// (at most wire.MaxOps), or a STORE record's chunk of a checkpoint.
const maxRecordOps = max(wire.MaxOps, storeChunk)

// recordFields are Record's msgpack fields in declaration order (Kind is
// the log's record type byte, not part of the payload).
var recordFields = []string{"TxID", "Protocol", "Commit", "Reason", "Ops", "Coord", "CoordAddr", "Members", "Time"}

// EncodeMsgpack has a value receiver so that reflection can still encode a
// Record it cannot address.
func (r Record) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(len(recordFields)); err != nil {
		return err
	}
	if err := e.EncodeString(r.TxID); err != nil {
		return err
	}
	if err := e.EncodeString(string(r.Protocol)); err != nil {
		return err
	}
	if err := e.EncodeBool(r.Commit); err != nil {
		return err
	}
	if err := e.EncodeString(r.Reason); err != nil {
		return err
	}
	if err := wire.EncodeOps(e, r.Ops); err != nil {
		return err
	}
	if err := e.EncodeString(r.Coord); err != nil {
		return err
	}
	if err := e.EncodeString(r.CoordAddr); err != nil {
		return err
	}
	if err := wire.EncodeMembers(e, r.Members); err != nil {
		return err
	}
	return e.EncodeInt64(r.Time) // fixed 9 bytes, as reflection writes an int64
}

// DecodeMsgpack decodes what EncodeMsgpack (or reflection) wrote. A nil,
// empty or short array resets the whole record, Kind included, as
// reflection resets it for nil and empty; replay sets Kind afterwards. A
// record from before Time was added (8 fields) decodes with Time 0. On
// error r holds whatever was decoded so far. As on the wire, more than
// maxRecordOps operations or wire.MaxMembers members is an error (checked
// before allocating), and a reason is cut to wire.MaxReasonLen bytes (logs
// written before reasons were bounded replay with short ones).
func (r *Record) DecodeMsgpack(d *msgpack.Decoder) error {
	return wire.DecodeArrayStruct(d, recordFields, func() { *r = Record{} }, func(i int) (err error) {
		switch i {
		case 0:
			r.TxID, err = d.DecodeString()
		case 1:
			var s string
			s, err = d.DecodeString()
			r.Protocol = wire.Protocol(s)
		case 2:
			r.Commit, err = d.DecodeBool()
		case 3:
			err = wire.DecodeReason(d, &r.Reason)
		case 4:
			r.Ops, err = wire.DecodeOps(d, maxRecordOps)
		case 5:
			r.Coord, err = d.DecodeString()
		case 6:
			r.CoordAddr, err = d.DecodeString()
		case 7:
			r.Members, err = wire.DecodeMembers(d)
		default:
			r.Time, err = d.DecodeInt64()
		}
		return err
	})
}
