package main

// The torture test's workload: the ledger of transfers (what each client
// learned of each), the funding of the accounts, and the clients that run
// transfers, paced, and ask again about those whose outcome they lost.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// outcome is what a client learned of a transfer.
type outcome uint8

const (
	outPending   outcome = iota // not answered yet
	outRefused                  // refused (an Error answer) or never sent: certainly did not run
	outCommitted                // answered COMMITTED
	outAborted                  // answered ABORTED
	outUnknown                  // the connection was lost, or the call timed out, after it was sent
)

func (o outcome) String() string {
	return [...]string{"PENDING", "REFUSED", "COMMITTED", "ABORTED", "UNKNOWN"}[o]
}

func outcomeOf(s wire.State) outcome {
	switch s {
	case wire.StateCommitted:
		return outCommitted
	case wire.StateAborted:
		return outAborted
	}
	return outUnknown
}

// transfer is one transaction of the workload: amount from (fromPart,
// fromAcct) to (toPart, toAcct), two different participants.
type transfer struct {
	id               string
	proto            wire.Protocol
	fromPart, toPart string
	fromAcct, toAcct int
	amount           int64
	client           int

	// Filled in by the client that ran it (under the ledger's lock once
	// published).
	sent, answered time.Time
	seen           outcome // what the client learned first
	reason         string  // the outcome's reason, or the error
	// An UNKNOWN transfer is started again, same id, by its client until
	// it gets an answer, as txcli advises: the recorded outcome (or a
	// first run, if the coordinator never logged it).
	asks        int
	resolved    outcome
	resolvedWhy string
	resolvedAt  time.Time
	// Filled in after healing: the same id once more (the recent ones
	// only: see tortureCheckWindow), and the outcome the checks hold the
	// cluster to.
	checked    outcome
	checkedWhy string
	final      outcome
}

func (tr *transfer) ops() []wire.Op {
	return []wire.Op{
		{Target: tr.fromPart, Kind: wire.OpAdd, Key: acct(tr.fromAcct), Delta: -tr.amount},
		{Target: tr.toPart, Kind: wire.OpAdd, Key: acct(tr.toAcct), Delta: tr.amount},
	}
}

func (tr *transfer) String() string {
	s := fmt.Sprintf("%s %s %s:%s -%d → %s:%s +%d (client %d: %s %q, sent %s, answered %s",
		tr.id, tr.proto, tr.fromPart, acct(tr.fromAcct), tr.amount, tr.toPart, acct(tr.toAcct), tr.amount,
		tr.client, tr.seen, tr.reason, clock(tr.sent), clock(tr.answered))
	if tr.asks > 0 {
		s += fmt.Sprintf("; asked again %d times: %s %q at %s", tr.asks, tr.resolved, tr.resolvedWhy, clock(tr.resolvedAt))
	}
	if tr.checked != outPending {
		s += fmt.Sprintf("; after healing: %s %q", tr.checked, tr.checkedWhy)
	}
	return s + fmt.Sprintf("; final %s)", tr.final)
}

func acct(i int) string { return "acct" + strconv.Itoa(i) }

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

// fund sets every account on every participant to the opening balance, in
// one transaction that must commit.
func (tt *torture) fund() {
	t := tt.t
	var ops []wire.Op
	for i := range tortureAccounts {
		ops = append(ops, wire.Op{Kind: wire.OpSet, Key: acct(i), Value: strconv.Itoa(tortureInitial)})
	}
	res, err := tt.startOnce("fund", wire.TwoPC, ops)
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("seed %d: funding the accounts: %+v, %v", tt.o.seed, res, err)
	}
	// Every participant applies it before the nemesis starts.
	err = cluster.Poll(context.Background(), 10*time.Second, func() error {
		for _, p := range tt.c.Parts {
			st, err := tortureStatus(p.Addr())
			if err != nil {
				return err
			}
			for i := range tortureAccounts {
				if st.Store[acct(i)] != strconv.Itoa(tortureInitial) {
					return fmt.Errorf("%s: store %v", p.ID, st.Store)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed %d: funding not applied: %v", tt.o.seed, err)
	}
}

// startOnce runs one transaction on a fresh connection.
func (tt *torture) startOnce(id string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tortureCallTimeout)
	defer cancel()
	cl, err := transport.DialClient(ctx, tt.c.Coord.Addr())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Start(ctx, id, proto, ops)
}

// client runs transfers one after another on its own connection, dialling
// again whenever the connection is lost (the coordinator was killed).
func (tt *torture) client(n int) {
	defer tt.clientsDone.Done()
	rng := rand.New(rand.NewPCG(tt.o.seed, uint64(n)+1))
	var cl *transport.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	backoff := 10 * time.Millisecond
	var unknown []*transfer // to ask again, oldest first
	for seq := 0; ; {
		select {
		case <-tt.stopClients:
			return
		default:
		}
		if cl == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			var err error
			cl, err = transport.DialClient(ctx, tt.c.Coord.Addr())
			cancel()
			if err != nil {
				cl = nil
				time.Sleep(backoff)
				backoff = min(2*backoff, 200*time.Millisecond)
				continue
			}
			backoff = 10 * time.Millisecond
		}
		if len(unknown) > 0 && tt.enter(unknown[0].proto) {
			tr := unknown[0]
			done, lost := tt.ask(cl, tr)
			if done {
				unknown = unknown[1:]
			}
			if lost {
				cl.Close()
				cl = nil
			}
			continue
		}
		tt.pace()
		tr := tt.newTransfer(n, seq, rng)
		seq++
		lost := tt.run(cl, tr)
		if tr.seen == outUnknown {
			unknown = append(unknown, tr)
		}
		if lost {
			cl.Close()
			cl = nil
		}
	}
}

// pace holds the clients together to tortureMaxRate new transfers a
// second. Aborts on a lock conflict take a millisecond; unpaced, a fast
// machine would run so many that the coordinator's status (every
// remembered outcome in one frame) outgrows the frame limit, which the
// short run is not meant to measure.
func (tt *torture) pace() {
	tt.paceMu.Lock()
	now := time.Now()
	if tt.paceNext.Before(now) {
		tt.paceNext = now
	}
	wait := tt.paceNext.Sub(now)
	tt.paceNext = tt.paceNext.Add(time.Second / tortureMaxRate)
	tt.paceMu.Unlock()
	time.Sleep(wait)
}

// enter reports whether a transaction of proto may start now, and counts a
// 3PC one in inflight3PC (leave with tt.leave).
func (tt *torture) enter(proto wire.Protocol) bool {
	if proto != wire.ThreePC {
		return true
	}
	tt.modeMu.RLock()
	defer tt.modeMu.RUnlock()
	if !tt.allow3PC {
		return false
	}
	tt.inflight3PC.Add(1)
	return true
}

func (tt *torture) leave(proto wire.Protocol) {
	if proto == wire.ThreePC {
		tt.inflight3PC.Add(-1)
	}
}

// ask starts an UNKNOWN transfer again, same id and operations (entered
// with tt.enter). done: it has its outcome; lost: the connection is
// unusable.
func (tt *torture) ask(cl *transport.Client, tr *transfer) (done, lost bool) {
	ctx, cancel := context.WithTimeout(context.Background(), tortureCallTimeout)
	res, err := cl.Start(ctx, tr.id, tr.proto, tr.ops())
	cancel()
	tt.leave(tr.proto)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tr.asks++
	var remote *wire.RemoteError
	switch {
	case err == nil:
		tr.resolved, tr.resolvedWhy, tr.resolvedAt = outcomeOf(res.Outcome), res.Reason, time.Now()
		return tr.resolved != outUnknown, false
	case errors.As(err, &remote):
		time.Sleep(50 * time.Millisecond) // busy: ask again later
		return false, false
	default:
		return false, true
	}
}

// newTransfer picks a transfer between two different participants and
// publishes it in the ledger.
func (tt *torture) newTransfer(client, seq int, rng *rand.Rand) *transfer {
	from := rng.IntN(len(tt.parts))
	to := (from + 1 + rng.IntN(len(tt.parts)-1)) % len(tt.parts)
	tr := &transfer{
		id:       fmt.Sprintf("t%d-%d", client, seq),
		fromPart: tt.parts[from], toPart: tt.parts[to],
		fromAcct: rng.IntN(tortureAccounts), toAcct: rng.IntN(tortureAccounts),
		amount: 1 + rng.Int64N(tortureMaxAmount),
		client: client,
	}
	tr.proto = tt.pickProto(rng)
	tr.sent = time.Now()
	tt.mu.Lock()
	tt.transfers = append(tt.transfers, tr)
	tt.byID[tr.id] = tr
	tt.mu.Unlock()
	return tr
}

// pickProto chooses a new transfer's protocol: tt.o.proto if set (2PC
// while 3PC is not allowed), else a third each of 2PC, 3PC and PARALLEL,
// with 3PC's third split between the other two while it is not allowed.
// A 3PC choice is counted in inflight3PC (leave with tt.leave).
func (tt *torture) pickProto(rng *rand.Rand) wire.Protocol {
	want := tt.o.proto
	if want == "" {
		want = [...]wire.Protocol{wire.TwoPC, wire.ThreePC, wire.Parallel}[rng.IntN(3)]
	}
	if want != wire.ThreePC || tt.enter(wire.ThreePC) {
		return want
	}
	if tt.o.proto == "" && rng.IntN(2) == 0 {
		return wire.Parallel
	}
	return wire.TwoPC
}

// run sends one transfer and records what the client learned. It reports
// whether the connection is unusable now.
func (tt *torture) run(cl *transport.Client, tr *transfer) (lost bool) {
	ctx, cancel := context.WithTimeout(context.Background(), tortureCallTimeout)
	res, err := cl.Start(ctx, tr.id, tr.proto, tr.ops())
	cancel()
	tt.leave(tr.proto)
	seen, why := outPending, ""
	var remote *wire.RemoteError
	switch {
	case err == nil && res.Outcome == wire.StateCommitted:
		seen, why = outCommitted, res.Reason
	case err == nil && res.Outcome == wire.StateAborted:
		seen, why = outAborted, res.Reason
	case err == nil:
		seen, why = outUnknown, fmt.Sprintf("outcome %q", res.Outcome)
	case errors.Is(err, transport.ErrConnectionLost):
		seen, why, lost = outUnknown, err.Error(), true
	case errors.As(err, &remote):
		seen, why = outRefused, err.Error()
	case errors.Is(err, transport.ErrClosed):
		// The connection ended before the request left.
		seen, why, lost = outRefused, err.Error(), true
	default:
		// A timeout, or anything else: it may have run.
		seen, why, lost = outUnknown, err.Error(), true
	}
	tt.mu.Lock()
	tr.seen, tr.reason, tr.answered = seen, why, time.Now()
	tt.mu.Unlock()
	return lost
}
