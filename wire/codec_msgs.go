package wire

import "github.com/vmihailenco/msgpack/v5"

// Hand-written msgpack codecs for the message types (all but Status and
// its parts, which are rare and hold maps). See codec_kit.go for the format.
// Each type lists its msgpack fields in declaration order; the encoder
// writes them in that order and the decoder's switch follows it.
//
// EncodeMsgpack has a value receiver so that reflection can still encode
// values it cannot address.

var helloFields = []string{"Version", "NodeID", "Role"}

func (h Hello) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(helloFields))
	w.uint16(h.Version)
	w.str(h.NodeID)
	w.str(string(h.Role))
	return w.err
}

func (h *Hello) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, helloFields, func() { *h = Hello{} }, func(i int) error {
		return decodeHello(d, i, &h.Version, &h.NodeID, &h.Role)
	})
}

// HelloAck has Hello's fields.
func (h HelloAck) EncodeMsgpack(e *msgpack.Encoder) error { return Hello(h).EncodeMsgpack(e) }

func (h *HelloAck) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, helloFields, func() { *h = HelloAck{} }, func(i int) error {
		return decodeHello(d, i, &h.Version, &h.NodeID, &h.Role)
	})
}

func decodeHello(d *msgpack.Decoder, i int, version *uint16, node *string, role *Role) error {
	switch i {
	case 0:
		n, err := d.DecodeUint16() // truncates, as reflection's SetUint does
		if err == nil {
			*version = n
		}
		return err
	case 1:
		return decodeString(d, node)
	}
	return decodeString(d, role)
}

var errorFields = []string{"ReqID", "Code", "Msg"}

func (m Error) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(errorFields))
	w.uint64(m.ReqID)
	w.str(string(m.Code))
	w.str(m.Msg)
	return w.err
}

func (m *Error) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, errorFields, func() { *m = Error{} }, func(i int) error {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.Code)
		}
		return decodeText(d, &m.Msg, MaxErrorMsgLen)
	})
}

var startFields = []string{"ReqID", "TxID", "Protocol", "Ops"}

func (m Start) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(startFields))
	w.uint64(m.ReqID)
	w.str(m.TxID)
	w.str(string(m.Protocol))
	w.ops(m.Ops)
	return w.err
}

func (m *Start) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, startFields, func() { *m = Start{} }, func(i int) (err error) {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.TxID)
		case 2:
			return decodeString(d, &m.Protocol)
		}
		m.Ops, err = DecodeOps(d, MaxOps)
		return err
	})
}

var startResultFields = []string{"ReqID", "TxID", "Protocol", "Outcome", "Reason"}

func (m StartResult) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(startResultFields))
	w.uint64(m.ReqID)
	w.str(m.TxID)
	w.str(string(m.Protocol))
	w.str(string(m.Outcome))
	w.str(m.Reason)
	return w.err
}

func (m *StartResult) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, startResultFields, func() { *m = StartResult{} }, func(i int) error {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.TxID)
		case 2:
			return decodeString(d, &m.Protocol)
		case 3:
			return decodeString(d, &m.Outcome)
		}
		return DecodeReason(d, &m.Reason)
	})
}

var statusReqFields = []string{"ReqID"}

func (m StatusReq) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(statusReqFields))
	w.uint64(m.ReqID)
	return w.err
}

func (m *StatusReq) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, statusReqFields, func() { *m = StatusReq{} }, func(int) error {
		return decodeUint64(d, &m.ReqID)
	})
}

var prepareFields = []string{"TxID", "Protocol", "Ops", "Coord", "CoordAddr", "Members"}

func (m Prepare) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(prepareFields))
	w.str(m.TxID)
	w.str(string(m.Protocol))
	w.ops(m.Ops)
	w.str(m.Coord)
	w.str(m.CoordAddr)
	w.members(m.Members)
	return w.err
}

func (m *Prepare) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, prepareFields, func() { *m = Prepare{} }, func(i int) (err error) {
		switch i {
		case 0:
			return decodeString(d, &m.TxID)
		case 1:
			return decodeString(d, &m.Protocol)
		case 2:
			m.Ops, err = DecodeOps(d, MaxOps)
			return err
		case 3:
			return decodeString(d, &m.Coord)
		case 4:
			return decodeString(d, &m.CoordAddr)
		}
		m.Members, err = DecodeMembers(d)
		return err
	})
}

// voteFields: Known was added at the end (an older sender's 4-element Vote
// decodes with Known empty; an older receiver skips it).
var voteFields = []string{"TxID", "From", "Yes", "Reason", "Known"}

func (m Vote) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(voteFields))
	w.str(m.TxID)
	w.str(m.From)
	w.bool(m.Yes)
	w.str(m.Reason)
	w.str(string(m.Known))
	return w.err
}

func (m *Vote) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, voteFields, func() { *m = Vote{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &m.TxID)
		case 1:
			return decodeString(d, &m.From)
		case 2:
			return decodeBool(d, &m.Yes)
		case 3:
			return DecodeReason(d, &m.Reason)
		}
		return decodeString(d, &m.Known)
	})
}

var decisionFields = []string{"TxID", "Commit", "Reason"}

func (m Decision) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(decisionFields))
	w.str(m.TxID)
	w.bool(m.Commit)
	w.str(m.Reason)
	return w.err
}

func (m *Decision) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, decisionFields, func() { *m = Decision{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &m.TxID)
		case 1:
			return decodeBool(d, &m.Commit)
		}
		return DecodeReason(d, &m.Reason)
	})
}

var preCommitFields = []string{"TxID"}

func (m PreCommit) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(preCommitFields))
	w.str(m.TxID)
	return w.err
}

func (m *PreCommit) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, preCommitFields, func() { *m = PreCommit{} }, func(int) error {
		return decodeString(d, &m.TxID)
	})
}

// ackFields are QueryReply's plus Heuristic, added at the end (an older
// sender's 3-element Ack decodes with Heuristic false).
var ackFields = []string{"TxID", "From", "State", "Heuristic"}

func (m Ack) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(ackFields))
	w.str(m.TxID)
	w.str(m.From)
	w.str(string(m.State))
	w.bool(m.Heuristic)
	return w.err
}

func (m *Ack) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, ackFields, func() { *m = Ack{} }, func(i int) error {
		if i == 3 {
			return decodeBool(d, &m.Heuristic)
		}
		return decodeTxFromState(d, i, &m.TxID, &m.From, &m.State)
	})
}

var queryReplyFields = []string{"TxID", "From", "State"}

func (m QueryReply) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(queryReplyFields))
	w.str(m.TxID)
	w.str(m.From)
	w.str(string(m.State))
	return w.err
}

func (m *QueryReply) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, queryReplyFields, func() { *m = QueryReply{} }, func(i int) error {
		return decodeTxFromState(d, i, &m.TxID, &m.From, &m.State)
	})
}

func decodeTxFromState(d *msgpack.Decoder, i int, tx, from *string, state *State) error {
	switch i {
	case 0:
		return decodeString(d, tx)
	case 1:
		return decodeString(d, from)
	}
	return decodeString(d, state)
}

var queryFields = []string{"TxID", "From"}

func (m Query) EncodeMsgpack(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(queryFields))
	w.str(m.TxID)
	w.str(m.From)
	return w.err
}

func (m *Query) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, queryFields, func() { *m = Query{} }, func(i int) error {
		if i == 0 {
			return decodeString(d, &m.TxID)
		}
		return decodeString(d, &m.From)
	})
}
