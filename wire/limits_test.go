package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// Element-count bombs: a frame within the size limit whose lists hold
// about a million one-byte elements (nil, an empty array, an empty string)
// passes the pre-scan, each element taking a byte. Decoded, each would be a
// struct of up to a hundred bytes: a million Ops were 70 MB from one frame.
// Every list and map of every message is refused by its own limit before
// anything is allocated for it.

// bombFrameBytes is what a bomb's payload may take: a whole frame (type
// byte and payload) within DefaultMaxFrame.
const bombFrameBytes = DefaultMaxFrame - 1

// arrayStruct is the as_array encoding of a struct of n fields, all nil but
// field i, which is v.
func arrayStruct(n, i int, v []byte) []byte {
	b := []byte{0x90 | byte(n)}
	for j := range n {
		if j == i {
			b = append(b, v...)
		} else {
			b = append(b, 0xc0)
		}
	}
	return b
}

// array32 is an array32 of count copies of elem.
func array32(count int, elem []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(count))
	return append(b, bytes.Repeat(elem, count)...)
}

// map32 is a map32 of the given entries.
func map32(entries [][]byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdf}, uint32(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	return b
}

// distinctEntries makes n map entries with distinct keys ("k" and a
// number) and empty values: distinct keys make a map grow.
func distinctEntries(n int) [][]byte {
	es := make([][]byte, n)
	for i := range es {
		k := fmt.Sprintf("k%d", i)
		es[i] = append(append([]byte{0xa0 | byte(len(k))}, k...), 0xa0)
	}
	return es
}

// fits returns how many elements of elemLen bytes fit in a frame whose
// other bytes take overhead.
func fits(overhead, elemLen int) int { return (bombFrameBytes - overhead) / elemLen }

type bomb struct {
	name string
	typ  Type
	body []byte // the payload
	// maxCost overrides the bound on what refusing it may allocate (4
	// times its size).
	maxCost uint64
}

// bombs builds, for every list or map a message type holds, a frame that
// fills it with as many one-byte elements as fit (or, for maps, entries).
func bombs() []bomb {
	const structOverhead = 24 // array header, the other fields' nils, the list header
	ms := func(n int) [][]byte { return distinctEntries(n) }
	// Status's transactions, each with a map of participant states: 1,000
	// states apiece (the per-map limit is MaxMembers) and as many
	// transactions as fit, far more states in all than MaxStatusStates.
	tx := arrayStruct(len(txStatusFields), 4, append([]byte{0xde, 0x03, 0xe8}, bytes.Join(ms(1000), nil)...))
	return []bomb{
		{"Start.Ops", TypeStart, arrayStruct(len(startFields), 3, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Prepare.Ops", TypePrepare, arrayStruct(len(prepareFields), 2, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Prepare.Members", TypePrepare, arrayStruct(len(prepareFields), 5, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Forget.TxIDs", TypeForget, arrayStruct(len(forgetFields), 0, array32(fits(structOverhead, 1), []byte{0xa0})), 0},
		{"Trace.Events", TypeTrace, arrayStruct(len(traceFields), 6, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Status.Participants", TypeStatus, arrayStruct(len(statusFields), 4, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Status.Transactions", TypeStatus, arrayStruct(len(statusFields), 5, array32(fits(structOverhead, 1), []byte{0x90})), 0},
		{"Status.Store", TypeStatus, arrayStruct(len(statusFields), 3, map32(ms(fits(structOverhead, 9)))), 0},
		// Maps cost what they cost: a Go map takes 40 to 80 bytes an entry
		// (with its growth), an entry here takes 7. Until the states of
		// all transactions pass MaxStatusStates they are decoded, and that
		// costs more than 4 times the bytes that carry them; the bound is
		// absolute (a Status is a client's answer).
		{"Status.Transactions[].Participants", TypeStatus, arrayStruct(len(statusFields), 5, array32(fits(structOverhead, len(tx)), tx)), statusMaxCost},
		{"TxStatus.Participants alone", TypeStatus, arrayStruct(len(statusFields), 5,
			array32(1, arrayStruct(len(txStatusFields), 4, map32(ms(fits(2*structOverhead, 9)))))), 0},
	}
}

// statusMaxCost bounds what decoding one Status may allocate, whatever it
// holds: every limit full at once, each element as small as it can be.
const statusMaxCost = 24 << 20

// decodeCost decodes body as a frame of type typ and reports the error and
// the bytes allocated (the least of three runs: other goroutines allocate
// too, and TotalAlloc counts the whole process).
func decodeCost(typ Type, body []byte) (error, uint64) { return decodeCostAt(typ, body, false) }

// decodeCostAt is decodeCost at a node's end (node) or a client's.
func decodeCostAt(typ Type, body []byte, node bool) (error, uint64) {
	frame := append([]byte{byte(typ)}, body...)
	var err error
	cost := ^uint64(0)
	for range 3 {
		cost = min(cost, allocBytes(func() { _, err = decodeBody(frame, node) }))
	}
	return err, cost
}

// TestElementCountBombs: every bomb passes the pre-scan (so the limits are
// what stops it), is refused as malformed and over a limit, and costs a
// small fraction of its own size to refuse (without the limits, up to 100
// times its size).
func TestElementCountBombs(t *testing.T) {
	for _, b := range bombs() {
		t.Run(b.name, func(t *testing.T) {
			if len(b.body) > bombFrameBytes {
				t.Fatalf("the bomb takes %d bytes, more than a frame", len(b.body))
			}
			if err := CheckMsgpack(b.body, frameDepth); err != nil {
				t.Fatalf("the pre-scan refuses it already: %v", err)
			}
			err, cost := decodeCost(b.typ, b.body)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), ErrOverLimit.Error()) {
				t.Fatalf("decoded: %v", err)
			}
			t.Logf("%d-byte frame refused (%v) at a cost of %d bytes", len(b.body)+1, err, cost)
			limit := uint64(len(b.body)) * 4
			if b.maxCost > 0 {
				limit = b.maxCost
			}
			if cost > limit {
				t.Fatalf("refusing a %d-byte frame allocated %d bytes, more than %d", len(b.body), cost, limit)
			}
			// A node, which is what a hostile peer attacks, refuses every
			// one of them for a few bytes: the limits, or (for the answers
			// only a client reads) the type.
			err, cost = decodeCostAt(b.typ, b.body, true)
			if !errors.Is(err, ErrMalformed) || cost > 4096 {
				t.Fatalf("at a node: %v, %d bytes allocated", err, cost)
			}
		})
	}
}

// TestNodeRefusesClientAnswers: a node refuses an answer only a client
// reads, without decoding it; a client reads them.
func TestNodeRefusesClientAnswers(t *testing.T) {
	answers := []Message{&StartResult{TxID: "t"}, &Status{NodeID: "x"}, &Trace{TxID: "t"}, &ResolveResult{TxID: "t"},
		&GetResult{Entries: []GetEntry{{Key: "k"}}}, &ScanResult{Entries: []Entry{{Key: "k"}}}}
	for _, m := range answers {
		f, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeBody(f[HeaderLen:], true); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s decoded at a node: %v", m.Type(), err)
		}
		if _, err := decodeBody(f[HeaderLen:], false); err != nil {
			t.Errorf("%s refused at a client: %v", m.Type(), err)
		}
	}
	for _, typ := range []Type{TypeHello, TypeStart, TypeStatusReq, TypePrepare, TypeVote, TypeDecision, TypeAck,
		TypeQuery, TypePreCommit, TypeQueryReply, TypeForget, TypeTraceReq, TypeResolve, TypeError, TypeGetReq, TypeScanReq} {
		if typ.forClient() {
			t.Errorf("%s is a request or a protocol message, refused at a node", typ)
		}
	}
}

// TestLimitsAtTheirEdge: a list at its limit decodes, one more is refused,
// and a status filled up to every limit at once, each element as small as
// it can be, still costs only a bounded multiple of the frame.
func TestLimitsAtTheirEdge(t *testing.T) {
	edges := []struct {
		name  string
		limit int
		typ   Type
		body  func(n int) []byte
	}{
		{"ops", MaxOps, TypeStart, func(n int) []byte { return arrayStruct(len(startFields), 3, array32(n, []byte{0x90})) }},
		{"members", MaxMembers, TypePrepare, func(n int) []byte { return arrayStruct(len(prepareFields), 5, array32(n, []byte{0x90})) }},
		{"forget ids", MaxForgetIDs, TypeForget, func(n int) []byte { return arrayStruct(1, 0, array32(n, []byte{0xa0})) }},
		{"trace events", MaxTraceEvents, TypeTrace, func(n int) []byte { return arrayStruct(len(traceFields), 6, array32(n, []byte{0x90})) }},
		{"status peers", MaxMembers, TypeStatus, func(n int) []byte { return arrayStruct(len(statusFields), 4, array32(n, []byte{0x90})) }},
		{"status transactions", MaxStatusTxns, TypeStatus, func(n int) []byte { return arrayStruct(len(statusFields), 5, array32(n, []byte{0x90})) }},
		{"get keys", MaxReadPage, TypeGetReq, func(n int) []byte { return arrayStruct(len(getReqFields), 1, array32(n, []byte{0xa0})) }},
		{"get entries", MaxReadPage, TypeGetResult, func(n int) []byte { return arrayStruct(len(getResultFields), 1, array32(n, []byte{0x90})) }},
		{"scan entries", MaxReadPage, TypeScanResult, func(n int) []byte { return arrayStruct(len(scanResultFields), 1, array32(n, []byte{0x90})) }},
		{"status keys", MaxStatusKeys, TypeStatus, func(n int) []byte { return arrayStruct(len(statusFields), 3, map32(distinctEntries(n))) }},
		{"states of one transaction", MaxMembers, TypeStatus, func(n int) []byte {
			return arrayStruct(len(statusFields), 5, array32(1, arrayStruct(len(txStatusFields), 4, map32(distinctEntries(n)))))
		}},
	}
	for _, e := range edges {
		if _, err := decodeBody(append([]byte{byte(e.typ)}, e.body(e.limit)...), false); err != nil {
			t.Errorf("%s: %d (the limit) refused: %v", e.name, e.limit, err)
		}
		if _, err := decodeBody(append([]byte{byte(e.typ)}, e.body(e.limit+1)...), false); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %d (one over the limit) decoded: %v", e.name, e.limit+1, err)
		}
	}

	// States over all transactions: MaxStatusStates in all (each map
	// counting one) decode, one more does not.
	perTx := MaxMembers - 1
	txs := func(states int) []byte {
		var list [][]byte
		for states > 0 {
			n := min(perTx, states-1)
			list = append(list, arrayStruct(len(txStatusFields), 4, map32(distinctEntries(n))))
			states -= n + 1
		}
		b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(len(list)))
		return arrayStruct(len(statusFields), 5, append(b, bytes.Join(list, nil)...))
	}
	if _, err := decodeBody(append([]byte{byte(TypeStatus)}, txs(MaxStatusStates)...), false); err != nil {
		t.Errorf("%d states in all refused: %v", MaxStatusStates, err)
	}
	if _, err := decodeBody(append([]byte{byte(TypeStatus)}, txs(MaxStatusStates+1)...), false); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d states in all decoded: %v", MaxStatusStates+1, err)
	}

	// The worst a status can do within every limit: all of them full at
	// once, in the fewest bytes.
	var worst []byte
	worst = append(worst, 0x90|byte(len(statusFields)), 0xc0, 0xc0, 0xc0)
	worst = append(worst, map32(distinctEntries(MaxStatusKeys))...)
	worst = append(worst, array32(MaxMembers, []byte{0x90})...)
	list := txs(MaxStatusStates)[1+5:]            // the transactions field of its status
	list = list[:len(list)-(len(statusFields)-6)] // without the fields after it
	n := int(binary.BigEndian.Uint32(list[1:5]))
	binary.BigEndian.PutUint32(list[1:5], MaxStatusTxns)
	worst = append(worst, list...)
	worst = append(worst, bytes.Repeat([]byte{0x90}, MaxStatusTxns-n)...)
	worst = append(worst, bytes.Repeat([]byte{0xc0}, len(statusFields)-6)...) // the counts, times and store summary
	err, cost := decodeCost(TypeStatus, worst)
	if err != nil {
		t.Fatalf("a status at every limit: %v", err)
	}
	t.Logf("a %d-byte status at every limit decodes with %d bytes allocated (%.1f×)", len(worst), cost, float64(cost)/float64(len(worst)))
	if cost > statusMaxCost {
		t.Errorf("a status at every limit allocated %d bytes, more than %d", cost, statusMaxCost)
	}
}

func TestShortText(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"", 10, ""},
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven …"},
		{"ab", 2, "ab"},
		{"abc", 2, ""}, // no room for the marker
		{"aéééé", 8, "aéé…"},
		{"aéééé", 7, "aé…"}, // é is 2 bytes: the first 4 end inside one
		{"日本語テキスト", 10, "日本…"},
		{"\xff\xff\xff\xff\xff\xff", 5, "\xff\xff…"}, // not UTF-8: cut anyway
	}
	for _, c := range cases {
		got := ShortText(c.in, c.max)
		if got != c.want || len(got) > c.max {
			t.Errorf("ShortText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if utf8.ValidString(c.in) && !utf8.ValidString(got) {
			t.Errorf("ShortText(%q, %d) = %q: cut inside a character", c.in, c.max, got)
		}
	}
	long := strings.Repeat("é", 1000)
	if r := ShortReason(long); len(r) > MaxReasonLen || !utf8.ValidString(r) || !strings.HasSuffix(r, "…") {
		t.Errorf("ShortReason of %d bytes: %d bytes, %q", len(long), len(r), r)
	}
}

// TestDecodeCutsText: a reason or error text from the wire longer than its
// limit is cut on decode, not refused (a NO vote from an older participant
// must still count); what is cut is not kept alive by the result.
func TestDecodeCutsText(t *testing.T) {
	big := strings.Repeat("v", 200<<10)
	msgs := []struct {
		m    Message
		text func(Message) string
		max  int
	}{
		{&Vote{TxID: "t", From: "B", Reason: big}, func(m Message) string { return m.(*Vote).Reason }, MaxReasonLen},
		{&Decision{TxID: "t", Reason: big}, func(m Message) string { return m.(*Decision).Reason }, MaxReasonLen},
		{&StartResult{TxID: "t", Outcome: StateAborted, Reason: big}, func(m Message) string { return m.(*StartResult).Reason }, MaxReasonLen},
		{&Error{Code: ErrInternal, Msg: big}, func(m Message) string { return m.(*Error).Msg }, MaxErrorMsgLen},
		{&ResolveResult{TxID: "t", Reason: big}, func(m Message) string { return m.(*ResolveResult).Reason }, MaxReasonLen},
		{&Status{Transactions: []TxStatus{{TxID: "t", Reason: big}}}, func(m Message) string { return m.(*Status).Transactions[0].Reason }, MaxReasonLen},
		{&Trace{Events: []TraceEvent{{Detail: big}}}, func(m Message) string { return m.(*Trace).Events[0].Detail }, MaxReasonLen},
	}
	for _, c := range msgs {
		f, err := AppendFrame(nil, c.m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBody(f[HeaderLen:], false)
		if err != nil {
			t.Fatalf("%s: %v", c.m.Type(), err)
		}
		if s := c.text(got); len(s) > c.max || !strings.HasPrefix(s, "vvv") || !strings.HasSuffix(s, "…") {
			t.Errorf("%s: text of %d bytes decoded as %d bytes: %.40q", c.m.Type(), len(big), len(s), s)
		}
	}
}
