package main

// What the torture test sees of the nodes: status requests, the observer
// that records every final state the participants show during the run, and
// the in-doubt query of the epoch changes and the checks.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// tortureStatus asks the node at addr for its status on a fresh
// connection.
func tortureStatus(addr string) (*wire.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return statusCtx(ctx, addr)
}

func statusCtx(ctx context.Context, addr string) (*wire.Status, error) {
	cl, err := transport.DialClient(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Status(ctx)
}

// observe polls every participant's status about every 700ms (a node that
// is down or paused is skipped: the poll gives up after a second) and
// records each final state shown.
func (tt *torture) observe(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(700 * time.Millisecond):
		}
		for _, p := range tt.c.Parts {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := statusCtx(ctx, p.Addr())
			cancel()
			if err == nil {
				tt.record(p.ID, st)
			}
		}
	}
}

// record adds one status of participant p to the observations. A final
// state that differs from one seen before for the same transaction is a
// violation at once (outcomes never change), and so is a negative balance
// (validation votes NO on any debit that would make one).
func (tt *torture) record(p string, st *wire.Status) {
	tt.omu.Lock()
	defer tt.omu.Unlock()
	tt.polls++
	for k, v := range st.Store {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n < 0 {
			tt.mu.Lock()
			tt.violate("no negative balance", nil, "%s: %s = %d at %s", p, k, n, clock(time.Now()))
			tt.mu.Unlock()
		}
	}
	seen := tt.observed[p]
	if seen == nil {
		seen = map[string]wire.TxStatus{}
		tt.observed[p] = seen
	}
	for _, tx := range st.Transactions {
		if !tx.State.Final() {
			continue
		}
		before, ok := seen[tx.TxID]
		if !ok {
			seen[tx.TxID] = tx
			continue
		}
		if before.State != tx.State {
			tt.mu.Lock()
			tt.violate("a participant's outcome never changes", []string{tx.TxID},
				"%s: %s showed %s (%q), later %s (%q)", p, tx.TxID, before.State, before.Reason, tx.State, tx.Reason)
			tt.mu.Unlock()
		}
	}
}

// inDoubt returns an error naming the transactions of proto (any protocol
// if "") that some node still shows undecided, or that it could not ask.
func (tt *torture) inDoubt(proto wire.Protocol) error {
	var doubts []string
	for _, n := range tt.nodes {
		var st *wire.Status
		var err error
		if n == tt.c.Coord {
			if st, err = tt.coordStatus(); st == nil && err == nil {
				continue // unanswered before: the participants must do
			}
		} else {
			st, err = tortureStatus(n.Addr())
		}
		if err != nil {
			return fmt.Errorf("status of %s: %w", n.ID, err)
		}
		for _, tx := range st.Transactions {
			if (proto == "" || tx.Protocol == proto) && !tx.State.Final() {
				doubts = append(doubts, fmt.Sprintf("%s:%s=%s", n.ID, tx.TxID, tx.State))
			}
		}
	}
	if len(doubts) > 0 {
		if len(doubts) > 20 {
			doubts = append(doubts[:20], fmt.Sprintf("... (%d in all)", len(doubts)))
		}
		return fmt.Errorf("in doubt: %s", strings.Join(doubts, " "))
	}
	return nil
}

// coordStatus asks the coordinator for its status, which must come within
// 5s: it is up and not paused when this is called. An unanswered request
// is recorded, and from then on coordStatus returns nil, nil without
// asking (each try costs the whole timeout).
func (tt *torture) coordStatus() (*wire.Status, error) {
	tt.nmu.Lock()
	off := len(tt.coordStatusFails) > 0
	tt.nmu.Unlock()
	if off {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := statusCtx(ctx, tt.c.Coord.Addr())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !tt.c.Coord.Running() {
		return st, err
	}
	tt.mu.Lock()
	n := len(tt.transfers)
	tt.mu.Unlock()
	tt.note("the coordinator's status went unanswered")
	tt.nmu.Lock()
	tt.coordStatusFails = append(tt.coordStatusFails, fmt.Sprintf("at %s, %d transfers into the run: %v", clock(time.Now()), n, err))
	tt.nmu.Unlock()
	return nil, nil
}

// doubtIDs extracts the transaction ids of an inDoubt error.
func doubtIDs(err error) []string {
	var ids []string
	_, list, ok := strings.Cut(err.Error(), "in doubt: ")
	if !ok {
		return nil
	}
	for _, f := range strings.Fields(list) {
		if _, rest, ok := strings.Cut(f, ":"); ok {
			if id, _, ok := strings.Cut(rest, "="); ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
