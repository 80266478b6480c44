package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// OpKind is an operation's verb.
type OpKind string

const (
	OpSet OpKind = "SET" // Key = Value
	OpAdd OpKind = "ADD" // Key += Delta (signed 64-bit; a missing key counts as 0)
	OpDel OpKind = "DEL" // remove Key
)

// Op is one operation of a transaction. An empty Target means every
// participant of the cluster runs it; otherwise only the named one does.
//
//txd:codec encode decode
type Op struct {
	_msgpack struct{} `msgpack:",as_array"`
	Target   string
	Kind     OpKind
	Key      string
	Value    string
	Delta    int64
}

func (o Op) String() string {
	p := ""
	if o.Target != "" {
		p = o.Target + ":"
	}
	switch o.Kind {
	case OpSet:
		return fmt.Sprintf("%s%s %s %s", p, o.Kind, o.Key, o.Value)
	case OpAdd:
		return fmt.Sprintf("%s%s %s %d", p, o.Kind, o.Key, o.Delta)
	}
	return fmt.Sprintf("%s%s %s", p, o.Kind, o.Key)
}

// Limits on what a transaction may name. They keep ids printable and free of
// '/', which the actor registry uses as a separator.
const (
	MaxIDLen  = 128
	MaxKeyLen = 256
	MaxOps    = 1024
)

// Limits on a transaction's size (docs/operations.md, "Limits"). A value
// is at most MaxValueLen bytes, and a transaction's keys and values
// together at most MaxTxBytes: with MaxOps operations' overhead (their
// targets, kinds, headers: under 160 KiB) a Start or a Prepare stays well
// inside a frame (DefaultMaxFrame, 1 MiB), a PREPARED log record far
// inside the WAL's record limit (16 MiB), and any read page (MaxReadPageBytes)
// holds at least one key with its value.
const (
	MaxValueLen = 64 << 10
	MaxTxBytes  = 512 << 10
)

// ParseOps parses a transaction's operations from command-line words:
//
//	SET k v   ADD k delta   DEL k
//
// A verb may carry a participant id ("B:ADD balance -100"): that operation
// runs on B only; without one it runs on every participant.
func ParseOps(words []string) ([]Op, error) {
	if len(words) == 0 {
		return nil, errors.New("no operations (want e.g. SET balance 1000)")
	}
	var ops []Op
	for i := 0; i < len(words); {
		target, verb := "", words[i]
		if j := strings.LastIndexByte(verb, ':'); j >= 0 {
			target, verb = verb[:j], verb[j+1:]
			if err := CheckID("participant id", target); err != nil {
				return nil, err
			}
		}
		op := Op{Target: target, Kind: OpKind(strings.ToUpper(verb))}
		need := 0
		switch op.Kind {
		case OpSet, OpAdd:
			need = 2
		case OpDel:
			need = 1
		default:
			return nil, fmt.Errorf("unknown operation %q (want SET, ADD or DEL)", words[i])
		}
		if i+need >= len(words) {
			return nil, fmt.Errorf("%s needs %d argument(s)", op.Kind, need)
		}
		op.Key = words[i+1]
		if err := CheckKey(op.Key); err != nil {
			return nil, err
		}
		switch op.Kind {
		case OpSet:
			op.Value = words[i+2]
			if err := CheckValue(op.Key, op.Value); err != nil {
				return nil, err
			}
		case OpAdd:
			d, err := strconv.ParseInt(words[i+2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("ADD %s: delta %q is not a 64-bit integer", op.Key, words[i+2])
			}
			op.Delta = d
		}
		ops = append(ops, op)
		if len(ops) > MaxOps {
			return nil, fmt.Errorf("too many operations (at most %d)", MaxOps)
		}
		i += need + 1
	}
	if err := CheckTxBytes(ops); err != nil {
		return nil, err
	}
	return ops, nil
}

// CheckOps validates operations received from the network.
func CheckOps(ops []Op) error {
	if len(ops) == 0 {
		return errors.New("no operations")
	}
	if len(ops) > MaxOps {
		return fmt.Errorf("too many operations (at most %d)", MaxOps)
	}
	for _, op := range ops {
		if op.Target != "" {
			if err := CheckID("participant id", op.Target); err != nil {
				return err
			}
		}
		switch op.Kind {
		case OpSet, OpAdd, OpDel:
		default:
			return fmt.Errorf("unknown operation %.20q", op.Kind)
		}
		if err := CheckKey(op.Key); err != nil {
			return err
		}
		if err := CheckValue(op.Key, op.Value); err != nil {
			return err
		}
	}
	return CheckTxBytes(ops)
}

// CheckValue refuses a value over MaxValueLen (key names it).
func CheckValue(key, value string) error {
	if len(value) > MaxValueLen {
		return fmt.Errorf("value of %.40q is %d bytes, at most %d (%d KiB) per value", key, len(value), MaxValueLen, MaxValueLen>>10)
	}
	return nil
}

// CheckTxBytes refuses operations whose keys and values together are over
// MaxTxBytes.
func CheckTxBytes(ops []Op) error {
	if n := TxBytes(ops); n > MaxTxBytes {
		return fmt.Errorf("the transaction's keys and values are %d bytes, at most %d (%d KiB) per transaction", n, MaxTxBytes, MaxTxBytes>>10)
	}
	return nil
}

// TxBytes is the bytes of the keys and values of ops.
func TxBytes(ops []Op) int {
	n := 0
	for _, op := range ops {
		n += len(op.Key) + len(op.Value)
	}
	return n
}

// CheckID validates a transaction or node id: 1..MaxIDLen characters from
// [A-Za-z0-9_.-]. No ':' (ParseOps splits "B:ADD" on it) and no '/' (the
// actor registry's separator).
func CheckID(what, id string) error {
	if id == "" {
		return fmt.Errorf("empty %s", what)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%s %.20q... is longer than %d bytes", what, id, MaxIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("%s %q: only letters, digits, '_', '-' and '.' are allowed", what, id)
		}
	}
	return nil
}

// CheckKey validates a store key.
func CheckKey(k string) error {
	if k == "" {
		return errors.New("empty key")
	}
	if len(k) > MaxKeyLen {
		return fmt.Errorf("key longer than %d bytes", MaxKeyLen)
	}
	return nil
}

// NormalizeAddr accepts "host:port", "http://host:port" or ":port" and
// returns "host:port" (the transport is raw TCP; the scheme is the seed's).
func NormalizeAddr(s string) (string, error) {
	a := strings.TrimSpace(s)
	a = strings.TrimPrefix(a, "http://")
	a = strings.TrimPrefix(a, "tcp://")
	a = strings.TrimSuffix(a, "/")
	if strings.HasPrefix(a, ":") {
		a = "127.0.0.1" + a
	}
	host, port, ok := strings.Cut(a, ":")
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port, ok = a[:i], a[i+1:], true
	}
	if !ok || host == "" || port == "" {
		return "", fmt.Errorf("address %q: want host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("address %q: bad port %q", s, port)
	}
	return a, nil
}
