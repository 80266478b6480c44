package wire

import "github.com/vmihailenco/msgpack/v5"

// Lenient, bounded decoders for the rarely sent types whose encoding stays
// msgpack's reflection (Forget, Trace, ResolveResult), for the same reasons
// as Status's (codec_status.go): a field added later is skipped by older
// readers, and a list is checked against its limit before it is allocated.

var forgetFields = []string{"TxIDs"}

func (m *Forget) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, forgetFields, func() { *m = Forget{} }, func(int) (err error) {
		m.TxIDs, err = decodeSliceFunc(d, "transaction ids", MaxForgetIDs, func(s *string) error {
			return decodeString(d, s)
		})
		return err
	})
}

var traceEventFields = []string{"Time", "Kind", "What", "Peer", "Detail", "FromLog"}

func (m *TraceEvent) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, traceEventFields, func() { *m = TraceEvent{} }, func(i int) error {
		switch i {
		case 0:
			return decodeInt64(d, &m.Time)
		case 1:
			return decodeString(d, &m.Kind)
		case 2:
			return decodeString(d, &m.What)
		case 3:
			return decodeString(d, &m.Peer)
		case 4:
			return DecodeReason(d, &m.Detail)
		}
		return decodeBool(d, &m.FromLog)
	})
}

var traceFields = []string{"ReqID", "NodeID", "Role", "TxID", "Since", "Protocol", "Events", "Dropped"}

func (m *Trace) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, traceFields, func() { *m = Trace{} }, func(i int) (err error) {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.NodeID)
		case 2:
			return decodeString(d, &m.Role)
		case 3:
			return decodeString(d, &m.TxID)
		case 4:
			return decodeInt64(d, &m.Since)
		case 5:
			return decodeString(d, &m.Protocol)
		case 6:
			m.Events, err = decodeSliceFunc(d, "trace events", MaxTraceEvents, func(e *TraceEvent) error {
				return e.DecodeMsgpack(d)
			})
			return err
		}
		n, err := d.DecodeInt()
		if err == nil {
			m.Dropped = n
		}
		return err
	})
}

var resolveResultFields = []string{"ReqID", "TxID", "State", "Applied", "Refused", "Heuristic", "Reason"}

func (m *ResolveResult) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, resolveResultFields, func() { *m = ResolveResult{} }, func(i int) error {
		switch i {
		case 0:
			return decodeUint64(d, &m.ReqID)
		case 1:
			return decodeString(d, &m.TxID)
		case 2:
			return decodeString(d, &m.State)
		case 3:
			return decodeBool(d, &m.Applied)
		case 4:
			return decodeBool(d, &m.Refused)
		case 5:
			return decodeBool(d, &m.Heuristic)
		}
		return DecodeReason(d, &m.Reason)
	})
}
