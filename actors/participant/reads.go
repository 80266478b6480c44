package participant

import (
	"errors"
	"fmt"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// status is the participant's answer to StatusReq: its transactions and a
// summary of its store, with the store itself only when it is small
// (wire.MaxStatusInlineKeys), so a status fits in a frame whatever the
// store's size. The status desk encodes it on its own goroutine: what it
// holds is copied.
func (a *participantActor) status() *wire.Status {
	sum, err := a.fsm.StoreSummary(wire.MaxStatusInlineKeys, wire.MaxStatusInlineBytes)
	if err != nil {
		// The sizes are known without reading: report them alone.
		a.logger.Error("status: reading the store", "err", err)
		sum.Store, sum.Truncated = nil, true
	}
	return &wire.Status{NodeID: a.self.NodeID, Role: wire.RoleParticipant, Store: sum.Store,
		Transactions: a.fsm.Transactions(),
		Keys:         uint64(sum.Keys), KeyBytes: uint64(sum.KeyBytes), ValueBytes: uint64(sum.ValueBytes),
		StoreTruncated: sum.Truncated, Now: time.Now().UnixNano()}
}

// get answers a client's GetReq (auth.go lets only clients read) from the
// applied store: committed values, never a prepared transaction's. A page
// holds what fits in wire.MaxReadPageBytes; the client asks again for the
// keys it left out.
func (a *participantActor) get(conn *transport.Conn, m *wire.GetReq) {
	for _, k := range m.Keys {
		if err := wire.CheckKey(k); err != nil {
			_ = conn.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrBadRequest, Msg: "get: " + err.Error()})
			return
		}
	}
	v := a.readView(conn, m.ReqID, "get")
	if v == nil {
		return
	}
	go func() {
		defer a.readDone(v)
		entries, err := protocol.GetFrom(v, m.Keys, wire.MaxReadPageBytes)
		if err != nil {
			a.readFailed(conn, m.ReqID, "get", err)
			return
		}
		a.sendRead(conn, m.ReqID, &wire.GetResult{ReqID: m.ReqID, Entries: entries})
	}()
}

// scan answers a client's ScanReq with one page of keys in order: at most
// the asked limit and wire.MaxReadPage entries, and what fits in
// wire.MaxReadPageBytes.
func (a *participantActor) scan(conn *transport.Conn, m *wire.ScanReq) {
	if len(m.Prefix) > wire.MaxKeyLen || len(m.After) > wire.MaxKeyLen {
		_ = conn.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrBadRequest,
			Msg: fmt.Sprintf("scan: a prefix or start key longer than %d bytes", wire.MaxKeyLen)})
		return
	}
	limit := wire.MaxReadPage
	if m.Limit > 0 && m.Limit < uint64(limit) {
		limit = int(m.Limit)
	}
	v := a.readView(conn, m.ReqID, "scan")
	if v == nil {
		return
	}
	go func() {
		defer a.readDone(v)
		entries, more, err := protocol.ScanFrom(v, m.Prefix, m.After, limit, wire.MaxReadPageBytes)
		if err != nil {
			a.readFailed(conn, m.ReqID, "scan", err)
			return
		}
		a.sendRead(conn, m.ReqID, &wire.ScanResult{ReqID: m.ReqID, Entries: entries, More: more})
	}()
}

// sendRead sends a read's answer. A page always fits in a frame unless one
// value alone nearly fills it (written before wire.MaxValueLen existed):
// the client then hears why instead of waiting.
func (a *participantActor) sendRead(conn *transport.Conn, reqID uint64, msg wire.Message) {
	err := conn.Send(msg)
	if errors.Is(err, wire.ErrFrameTooLarge) {
		a.logger.Warn("a read's answer does not fit in a frame", "err", err.Error())
		_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrInternal,
			Msg: fmt.Sprintf("the value read does not fit in a frame (%v): it predates the limit of %d bytes per value", err, wire.MaxValueLen)})
	}
}

// maxReads bounds the client reads served at once, each on its own
// goroutine over a view of the data; one more is refused as busy.
const maxReads = 16

// readView takes a view of the data for one client read, or answers the
// client (busy, or the engine failed) and returns nil. The reads run off
// the actor: it only takes the view, which costs no disk access.
func (a *participantActor) readView(conn *transport.Conn, reqID uint64, what string) *engineView {
	select {
	case a.reads <- struct{}{}:
	default:
		_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrBusy,
			Msg: fmt.Sprintf("%s: %d reads are running already; retry", what, maxReads)})
		return nil
	}
	v, err := a.store.view()
	if err != nil {
		<-a.reads
		a.readFailed(conn, reqID, what, err)
		return nil
	}
	return v
}

// readDone releases a read's view and its place.
func (a *participantActor) readDone(v *engineView) {
	v.close()
	<-a.reads
}

// readFailed tells a client its read failed: the store could not be read.
func (a *participantActor) readFailed(conn *transport.Conn, reqID uint64, what string, err error) {
	a.logger.Error(what+": reading the store", "err", err)
	_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrInternal, Msg: what + ": reading the store: " + err.Error()})
}
