package wire

import "github.com/vmihailenco/msgpack/v5"

// Hand-written msgpack codecs for Op and Member, the elements of the slices
// in Start, Prepare and protocol.Record. See codec_kit.go for the format.
//
// EncodeMsgpack has a value receiver so that reflection can still encode
// values it cannot address (map values, msgpack.Marshal(op)).

// opFields are Op's msgpack fields in declaration order.
var opFields = []string{"Target", "Kind", "Key", "Value", "Delta"}

func (o Op) EncodeMsgpack(e *msgpack.Encoder) error { return o.encode(e) }

func (o *Op) encode(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(opFields))
	w.str(o.Target)
	w.str(string(o.Kind))
	w.str(o.Key)
	w.str(o.Value)
	w.int64(o.Delta)
	return w.err
}

func (o *Op) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, opFields, func() { *o = Op{} }, func(i int) error {
		switch i {
		case 0:
			return decodeString(d, &o.Target)
		case 1:
			return decodeString(d, &o.Kind)
		case 2:
			return decodeString(d, &o.Key)
		case 3:
			return decodeString(d, &o.Value)
		}
		n, err := d.DecodeInt64()
		if err == nil {
			o.Delta = n
		}
		return err
	})
}

// memberFields are Member's msgpack fields in declaration order.
var memberFields = []string{"ID", "Addr"}

func (m Member) EncodeMsgpack(e *msgpack.Encoder) error { return m.encode(e) }

func (m *Member) encode(e *msgpack.Encoder) error {
	w := structWriter{e: e}
	w.arrayLen(len(memberFields))
	w.str(m.ID)
	w.str(m.Addr)
	return w.err
}

func (m *Member) DecodeMsgpack(d *msgpack.Decoder) error {
	return DecodeArrayStruct(d, memberFields, func() { *m = Member{} }, func(i int) error {
		if i == 0 {
			return decodeString(d, &m.ID)
		}
		return decodeString(d, &m.Addr)
	})
}
