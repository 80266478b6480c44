package protocol

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/txd/txd/wire"
)

// Start handles a client's request to run a transaction. cluster lists the
// configured participants in their configured order: ID is the id
// configured or learned from a handshake, or the address (then ID == Addr)
// of one never reached.
//
// An id the coordinator runs or remembers is never run twice: the retry
// waits for, or gets at once, the outcome of the first run.
func (c *Coordinator) Start(from From, req *wire.Start, cluster []wire.Member) []Effect {
	fail := func(code wire.ErrorCode, format string, args ...any) []Effect {
		return []Effect{Answer{To: from.Conn, Peer: "client",
			Msg: &wire.Error{ReqID: req.ReqID, Code: code, Msg: fmt.Sprintf(format, args...)}}}
	}
	if err := wire.CheckID("transaction id", req.TxID); err != nil {
		return fail(wire.ErrBadRequest, "%v", err)
	}
	digest := opsDigest(req.Protocol, req.Ops)
	if t := c.txns[req.TxID]; t != nil {
		if t.node.digest != 0 && t.node.digest != digest {
			return fail(wire.ErrIDReused, "transaction id %s was already used for other operations or another protocol: "+
				"a retry must repeat the first request exactly; use a new id for a new transaction (not run)", req.TxID)
		}
		return t.await(waiter{to: from.Conn, reqID: req.ReqID})
	}
	if !req.Protocol.Valid() {
		return fail(wire.ErrBadRequest, "unknown protocol %q (want 2PC, 3PC or PARALLEL)", req.Protocol)
	}
	if err := wire.CheckOps(req.Ops); err != nil {
		return fail(wire.ErrBadRequest, "%v", err)
	}
	members, ops, err := plan(req.Ops, cluster)
	if err != nil {
		return fail(wire.ErrBadRequest, "%v", err)
	}
	if c.draining {
		return fail(wire.ErrShutdown, "coordinator shutting down; retry on its restart (or another coordinator)")
	}
	if !c.cfg.Inflight.admit() {
		return fail(wire.ErrBusy, "coordinator busy: %d transactions in flight; retry later", c.cfg.Inflight.Running())
	}
	t := NewCoordTxn(c.cfg.CoordConfig, req.TxID, req.Protocol, members, ops)
	c.admit(t)
	t.node.client = true
	t.node.digest = digest
	t.node.startedAt = t.node.began.UnixNano()
	t.node.waiters = []waiter{{to: from.Conn, reqID: req.ReqID}}
	return c.run(t, t.Start())
}

// admit adds a transaction that is about to run (counted in Inflight by
// the caller).
func (c *Coordinator) admit(t *CoordTxn) {
	t.node.began = c.cfg.Now()
	t.node.seen = t.node.began.UnixNano()
	c.txns[t.id] = t
	c.order = append(c.order, t)
	c.running++
	if !t.node.decided {
		c.undecided++
	}
}

// await answers w with the transaction's outcome if it is settled, or
// keeps it until it is.
func (t *CoordTxn) await(w waiter) []Effect {
	if t.node.replied == nil {
		t.node.waiters = append(t.node.waiters, w)
		return nil
	}
	return []Effect{t.answerTo(w)}
}

// settle answers the clients once a transaction's outcome is settled, and
// passes r on for the host's log and metrics (first: a test or an operator
// seeing the answer can rely on the log line being there).
func (c *Coordinator) settle(t *CoordTxn, r Reply, out []Effect) []Effect {
	now := c.cfg.Now()
	r.Protocol, r.Took, r.Client = t.protocol, now.Sub(t.node.began), t.node.client
	t.node.replied = &wire.StartResult{TxID: t.id, Protocol: t.protocol, Outcome: r.Outcome, Reason: r.Reason}
	if r.TooOld {
		t.node.replied = tooOldError(r.Reason)
	}
	if !t.node.decided {
		t.node.decided = true
		c.undecided--
		t.node.decidedAt = now.UnixNano()
		if r.Outcome == wire.StateCommitted {
			c.committed++
		} else {
			c.aborted++
		}
	}
	out = append(out, r)
	for _, w := range t.node.waiters {
		out = append(out, t.answerTo(w))
	}
	t.node.waiters = nil
	return out
}

// plan works out which participants a transaction touches and what each
// runs: an operation without a target runs everywhere.
func plan(ops []wire.Op, cluster []wire.Member) ([]wire.Member, map[string][]wire.Op, error) {
	if len(cluster) == 0 {
		return nil, nil, fmt.Errorf("no participants configured")
	}
	known := make(map[string]bool, len(cluster))
	for _, m := range cluster {
		known[m.ID] = true
	}
	per := map[string][]wire.Op{}
	for _, op := range ops {
		if op.Target == "" {
			for _, m := range cluster {
				per[m.ID] = append(per[m.ID], op)
			}
			continue
		}
		if !known[op.Target] {
			return nil, nil, fmt.Errorf("unknown participant %q in %s (cluster: %s)", op.Target, op, clusterList(cluster))
		}
		per[op.Target] = append(per[op.Target], op)
	}
	var members []wire.Member
	for _, m := range cluster {
		if len(per[m.ID]) > 0 {
			members = append(members, m)
		}
	}
	return members, per, nil
}

func clusterList(cluster []wire.Member) string {
	ids := make([]string, 0, len(cluster))
	for _, m := range cluster {
		id := m.ID
		if id == m.Addr {
			id += " (never connected)"
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ", ")
}

// answerTo is the answer to a waiter once the outcome is settled: the
// client's StartResult (or too-old Error) for its request, or the decision
// for a participant that asked.
func (t *CoordTxn) answerTo(w waiter) Effect {
	if w.asker != "" {
		return Answer{To: w.to, Peer: w.asker, Msg: &wire.Decision{TxID: t.id, Commit: t.commit, Reason: t.reason}}
	}
	return Answer{To: w.to, Peer: "client", Msg: withReqID(t.node.replied, w.reqID)}
}

// withReqID is a copy of a client's answer (StartResult or Error) for the
// request reqID.
func withReqID(m wire.Message, reqID uint64) wire.Message {
	switch r := m.(type) {
	case *wire.StartResult:
		out := *r
		out.ReqID = reqID
		return &out
	case *wire.Error:
		out := *r
		out.ReqID = reqID
		return &out
	}
	return m
}

// opsDigest sums a Start request up (its protocol and operations, in
// order): a retry of the same request has the same digest. Never 0, which
// stands for "not known" (a transaction recovered from the log).
func opsDigest(proto wire.Protocol, ops []wire.Op) uint64 {
	h := fnv.New64a()
	field := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(string(proto))
	for _, op := range ops {
		field(op.Target)
		field(string(op.Kind))
		field(op.Key)
		field(op.Value)
		field(strconv.FormatInt(op.Delta, 10))
	}
	return max(h.Sum64(), 1)
}

// digestText is a digest as Record.Digest holds it; "" for 0 (not known).
func digestText(d uint64) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatUint(d, 16)
}

// parseDigest reads Record.Digest back; 0 (not known) for "" or anything
// that is not a digest.
func parseDigest(s string) uint64 {
	d, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0
	}
	return d
}
