package wire

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Limits on what one decoded message may hold. The pre-scan (CheckMsgpack)
// bounds a count by the bytes left in the frame, but an element can take one
// byte on the wire (nil, or an empty array) and a hundred in memory: a 1 MiB
// frame of a million empty Ops would decode into 70 MB of them before any
// check ran. So every count that becomes an allocation is checked against
// its own limit first, and only then is the slice made, at its exact size.
// The limits are far above what an honest sender of this version sends.
const (
	// MaxMembers bounds the participants of one transaction (Prepare and a
	// log record's members, a status's participant list and the states of
	// one transaction in it), and so the participants of a coordinator.
	MaxMembers = 1024
	// MaxForgetIDs bounds one Forget (the coordinator sends at most 256).
	MaxForgetIDs = 4096
	// MaxStatusTxns bounds the transactions in one Status. A coordinator
	// lists its running ones (at most --max-inflight, 10,000 by default)
	// and its last 1,000 finished ones; this many, each with its
	// participants' states, would not fit in a frame anyway.
	MaxStatusTxns = 1 << 14
	// MaxStatusKeys bounds the store entries a client decodes in one
	// Status (a node sends at most MaxStatusInlineKeys).
	MaxStatusKeys = 1 << 16
	// MaxStatusInlineKeys is the most keys a participant's status carries
	// in Store: a store with more is summed up (Status.Keys, KeyBytes,
	// ValueBytes, StoreTruncated) and read with GetReq and ScanReq. Small
	// stores stay whole in the status for the scripts that read them there;
	// a thousand keys of the largest values would not fit in a frame, but a
	// store that large in bytes is sent as a summary too
	// (MaxStatusInlineBytes).
	MaxStatusInlineKeys = 1000
	// MaxStatusInlineBytes bounds the keys and values a status carries in
	// Store, so that a status always fits in a frame beside its
	// transactions.
	MaxStatusInlineBytes = 256 << 10
	// MaxStatusStates bounds the participant states of all transactions of
	// one Status together (an empty or nil map counts as one).
	MaxStatusStates = 1 << 16
	// MaxTraceEvents bounds one Trace (a node keeps 128 per transaction).
	MaxTraceEvents = 1024
	// MaxReadPage bounds the keys of one GetReq and the entries of one
	// GetResult or ScanResult.
	MaxReadPage = 1000
	// MaxReadPageBytes is what a participant puts in one GetResult or
	// ScanResult at most, in bytes of keys and values: half a frame, so a
	// page with its per-entry overhead always fits. A page holds at least
	// one entry, whatever its size.
	MaxReadPageBytes = 512 << 10

	// MaxReasonLen bounds a reason (a NO vote's, an abort's, a status's):
	// a sentence for a human, kept in memory with each outcome and logged
	// in the WAL. Longer ones are cut (ShortReason); text read from the
	// wire or the log is cut on decode (the txd:"cut" tag of the generated
	// codecs).
	MaxReasonLen = 200
	// MaxErrorMsgLen bounds an Error's text, cut on decode. An error is
	// answered once and not kept, so it may say a little more.
	MaxErrorMsgLen = 1024
)

// ErrOverLimit is what a decoder reports for a count over its limit (within
// ErrMalformed on the wire: the frame is refused and the connection closed).
var ErrOverLimit = errors.New("over the limit")

// ellipsis marks cut text.
const ellipsis = "…"

// ShortReason returns s cut to at most MaxReasonLen bytes (see ShortText).
func ShortReason(s string) string { return ShortText(s, MaxReasonLen) }

// ShortText returns s if it has at most max bytes; otherwise its longest
// prefix that ends on a UTF-8 character boundary and leaves room for an
// ellipsis, followed by the ellipsis: at most max bytes in all. The result
// never shares memory with a cut s, so a long s can be freed.
func ShortText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(ellipsis)
	if cut < 0 { // no room for even the marker
		return ""
	}
	// Back up to the start of a character (at most 3 bytes for valid
	// UTF-8; any bytes may arrive, so stop at the first start byte or 3).
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut] + ellipsis
}

// decodeArrayLen reads an array header (-1 for nil) and refuses a count
// over limit before the caller allocates anything for it.
func decodeArrayLen(d *msgpack.Decoder, what string, limit int) (int, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	return checkCount(n, what, limit)
}

// decodeMapLen is decodeArrayLen for a map header.
func decodeMapLen(d *msgpack.Decoder, what string, limit int) (int, error) {
	n, err := d.DecodeMapLen()
	if err != nil {
		return 0, err
	}
	return checkCount(n, what, limit)
}

func checkCount(n int, what string, limit int) (int, error) {
	if n < -1 { // an array32 length that overflows int (32-bit platforms)
		return 0, fmt.Errorf("msgpack: array of %d elements", uint32(n))
	}
	if n > limit {
		return 0, fmt.Errorf("%w: %d %s, at most %d", ErrOverLimit, n, what, limit)
	}
	return n, nil
}
