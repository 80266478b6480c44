package main

// Crash torture test: a bank workload on a real cluster (a coordinator and
// participants B, C and D, real processes on loopback) while a nemesis
// kill -9s, restarts and pauses (SIGSTOP/SIGCONT) the nodes at random; then,
// after healing, checks that money was neither created nor destroyed, that
// every transfer is applied on both sides or on neither, that every outcome
// a client was told holds, and that nothing stays in doubt or locked.
//
//	go test -race -run Torture ./cmd/txd/                     # short: ~45 s of load
//	TXD_TORTURE=10m go test -race -run Torture -timeout 30m ./cmd/txd/
//	TXD_TORTURE_SEED=12345 ...                                # replay a seed's choices
//	TXD_TORTURE_3PC_PAUSES=1 go test -race -run Torture3PCPauses ./cmd/txd/
//
// Kills are safe for both protocols: any violation under kills is a bug.
// Pauses are safe for 2PC only: a node paused past the timeouts looks
// crashed to 3PC's termination protocol while it is not, which is the
// partition docs/protocols.md warns about. By default the run alternates epochs:
// "mixed" epochs run 2PC and 3PC with kills only; "2PC" epochs run 2PC
// only, with kills and pauses, and begin only once no 3PC transaction is in
// doubt anywhere. TestTorture3PCPauses pauses freely with 3PC in the mix and
// reports (t.Logf, not a failure) the atomicity violations of 3PC
// transactions it sees: the documented limit, measured. Violations of 2PC
// transactions fail it as they fail TestTorture.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Environment knobs.
const (
	tortureEnv        = "TXD_TORTURE"            // how long the workload runs (a Go duration); default tortureShort
	tortureSeedEnv    = "TXD_TORTURE_SEED"       // the seed of every random choice; default the clock
	torturePausesEnv  = "TXD_TORTURE_3PC_PAUSES" // 1: run TestTorture3PCPauses
	tortureClientsEnv = "TXD_TORTURE_CLIENTS"    // concurrent clients; default tortureClients
	tortureCompactEnv = "TXD_TORTURE_COMPACT"    // nodes' --compact-bytes; default tortureCompact
)

// The workload and the nemesis.
const (
	tortureShort     = 45 * time.Second // default workload duration
	tortureMinKills  = 50               // the run goes on until it made this many kills...
	tortureMinTxs    = 2000             // ...over at least this many transactions
	tortureClients   = 8
	tortureAccounts  = 10        // acct0..acct9 on every participant
	tortureInitial   = 300       // each account's opening balance: low enough that some debits are refused
	tortureMaxAmount = 50        // transfers move 1..50
	tortureCompact   = 256 << 10 // nodes' --compact-bytes: small, so that log checkpoints happen often, under the kills

	torturePartTimeout  = 300 * time.Millisecond // participants' --timeout
	tortureCoordTimeout = time.Second            // coordinator's --timeout (vote wait)
	torturePauseMin     = 600 * time.Millisecond // pauses last longer than the timeouts
	torturePauseMax     = 1500 * time.Millisecond

	tortureMaxRate     = 200              // new transfers per second, at most, all clients together
	tortureCallTimeout = 15 * time.Second // one Start; longer than any pause
	// The coordinator remembers the outcomes of its last --keep-outcomes
	// finished transactions; an id older than that runs again when it is
	// started again (docs/txcli.md, "Transactions"). The final check starts the most recent
	// tortureCheckWindow transfers again, well inside the window.
	tortureKeepOutcomes = 100000
	tortureCheckWindow  = 20000
	tortureHealBound    = 30 * time.Second // nothing in doubt, nothing locked, this long after healing
	tortureStartBound   = 10 * time.Second // a node serves this long after its launch
)

var tortureParts = []string{"B", "C", "D"}

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

// tortureOpts is one run's configuration.
type tortureOpts struct {
	seed      uint64
	duration  time.Duration // of the workload, before the minimums extend it
	maxRun    time.Duration // the workload never runs longer than this
	clients   int
	compact   int64
	pauses3PC bool // pause with 3PC in the mix (report 3PC violations, do not fail on them)
	// proto, if set, is the protocol of every transfer (while allowed);
	// else half are 3PC. The crash point test sets it.
	proto wire.Protocol
}

func tortureConfig(t *testing.T, pauses3PC bool) tortureOpts {
	t.Helper()
	o := tortureOpts{duration: tortureShort, clients: tortureClients, compact: tortureCompact, pauses3PC: pauses3PC}
	if s := os.Getenv(tortureEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 10m", tortureEnv, s)
		}
		o.duration = d
	}
	o.maxRun = max(3*o.duration, o.duration+2*time.Minute)
	o.seed = uint64(time.Now().UnixNano())
	if s := os.Getenv(tortureSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", tortureSeedEnv, s)
		}
		o.seed = v
	}
	if s := os.Getenv(tortureClientsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("%s=%q: want a positive integer", tortureClientsEnv, s)
		}
		o.clients = v
	}
	if s := os.Getenv(tortureCompactEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an integer (bytes; negative: never checkpoint)", tortureCompactEnv, s)
		}
		o.compact = v
	}
	return o
}

// TestTorture: kills of every node with 2PC and 3PC mixed, and pauses while
// the workload is 2PC only. Any invariant violation fails it.
func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("crash torture test: real processes for a minute or more; skipped with -short")
	}
	runTorture(t, tortureConfig(t, false))
}

// TestTorture3PCPauses (only with TXD_TORTURE_3PC_PAUSES=1): kills and
// pauses of every node with 2PC and 3PC mixed throughout. Atomicity
// violations of 3PC transactions are reported with t.Logf: a pause longer
// than the timeouts is a partition, which 3PC does not survive (docs/protocols.md).
func TestTorture3PCPauses(t *testing.T) {
	if testing.Short() {
		t.Skip("crash torture test: real processes for a minute or more; skipped with -short")
	}
	if os.Getenv(torturePausesEnv) != "1" {
		t.Skipf("set %s=1 to pause nodes with 3PC in the mix (3PC's documented limit)", torturePausesEnv)
	}
	runTorture(t, tortureConfig(t, true))
}

// torture is one run: the cluster, the ledger of transfers, the clients
// and the nemesis.
type torture struct {
	t     *testing.T
	o     tortureOpts
	c     *cluster.Cluster
	nodes []*cluster.Node // coordinator first
	parts []string        // the participants' ids: tortureParts, or the crash point test's
	begun time.Time

	mu        sync.Mutex // protects the ledger
	transfers []*transfer
	byID      map[string]*transfer

	// The epoch: whether clients may start 3PC transactions. Clients hold
	// modeMu (read) while they check allow3PC and count themselves in
	// inflight3PC, so that once the nemesis has cleared allow3PC (write)
	// no new 3PC transaction starts and inflight3PC only falls.
	modeMu      sync.RWMutex
	allow3PC    bool
	inflight3PC atomic.Int64

	paceMu   sync.Mutex
	paceNext time.Time // when the next transfer may start

	stopClients chan struct{} // closed: clients finish their call and return
	clientsDone sync.WaitGroup

	// The nemesis's figures and timeline.
	nmu        sync.Mutex
	kills      map[string]int             // by node id
	recKills   int                        // kills during recovery (before the node served)
	restarts   map[string][]time.Duration // how long each restart took to serve, by node id
	downSince  map[string]time.Time       // when each node that is down was killed
	downFor    map[string]time.Duration   // how long each node was down in all
	pauses     map[string]int
	epochs     int
	timeline   []event
	crashes    []string       // nodes that died without being killed
	crashSeen  map[string]int // crashes reported, by node id
	infra      []string       // harness failures (a node that would not start)
	drainWaits []time.Duration
	stuck      []string // 3PC transactions still in doubt with every node up, at an epoch change
	// The coordinator's status requests that went unanswered while it ran
	// and served: after the first, inDoubt asks only the participants.
	coordStatusFails []string

	// What the participants showed of each transaction over the run
	// (observe): they forget ended transactions and list only the last
	// 1000 forgotten ones, so the final status alone would miss most.
	omu      sync.Mutex
	observed map[string]map[string]wire.TxStatus // participant → id → first final state seen
	polls    int

	violations []violation
}

// event is one line of the nemesis's timeline.
type event struct {
	at   time.Time
	what string
}

// violation is one broken invariant.
type violation struct {
	invariant string
	detail    string
	txids     []string
	only3PC   bool // every transaction involved ran 3PC
}

func runTorture(t *testing.T, o tortureOpts) {
	start := time.Now()
	t.Logf("torture seed %d (replay the choices with %s=%d); workload %v, %d clients, pauses with 3PC: %v, --compact-bytes %d",
		o.seed, tortureSeedEnv, o.seed, o.duration, o.clients, o.pauses3PC, o.compact)
	bins := cluster.Shared(t)

	c := cluster.New(t, bins, cluster.Config{
		Participants: tortureParts,
		PartTimeout:  torturePartTimeout,
		CoordTimeout: tortureCoordTimeout,
	})
	tt := newTorture(t, o, c, tortureParts)
	// Stops the goroutines and resumes every node. Registered after the
	// cluster's cleanup, so it runs before it: a node left paused by a
	// failing test would ignore the SIGTERM that stops it.
	stopNemesis := make(chan struct{})
	var nemesisDone sync.WaitGroup
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			close(stopNemesis)
			close(tt.stopClients)
		})
		nemesisDone.Wait()
		tt.clientsDone.Wait()
		for _, n := range tt.nodes {
			n.Resume() //nolint:errcheck // best effort; Stop reports a node that stays stopped
		}
	}
	t.Cleanup(stopAll)

	var ids []string
	for _, p := range c.Parts {
		p.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
		if err := p.Start(); err != nil {
			t.Fatalf("seed %d: starting participant %s: %v", o.seed, p.ID, err)
		}
		ids = append(ids, p.ID+"="+p.Addr())
	}
	// Participant ids are configured, not learned from handshakes: a
	// coordinator restarted while a participant is down still knows it.
	c.Coord.SetFlag("participants", strings.Join(ids, ","))
	c.Coord.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
	c.Coord.SetFlag("keep-outcomes", strconv.Itoa(tortureKeepOutcomes))
	c.StartCoord()

	tt.fund()
	tt.begun = time.Now()

	for i := range o.clients {
		tt.clientsDone.Add(1)
		go tt.client(i)
	}
	nemesisDone.Add(2)
	go func() {
		defer nemesisDone.Done()
		tt.nemesis(stopNemesis)
	}()
	go func() {
		defer nemesisDone.Done()
		tt.observe(stopNemesis)
	}()

	// The workload runs for the duration, and on until the minimums.
	for !tt.brokenHarness() && time.Since(tt.begun) < o.maxRun &&
		(time.Since(tt.begun) < o.duration || !tt.enough()) {
		time.Sleep(100 * time.Millisecond)
	}
	loadTime := time.Since(tt.begun)
	stopAll()
	tt.heal()
	healed := time.Now()
	t.Logf("seed %d: workload stopped after %v; healed at %s", o.seed, loadTime.Round(time.Millisecond), clock(healed))
	tt.checkAll(healed)
	tt.report(time.Since(start), loadTime)
}

// newTorture is a run on cluster c (not started) of participants parts.
func newTorture(t *testing.T, o tortureOpts, c *cluster.Cluster, parts []string) *torture {
	return &torture{t: t, o: o, c: c, nodes: c.Nodes(), parts: parts, byID: map[string]*transfer{},
		kills: map[string]int{}, pauses: map[string]int{}, crashSeen: map[string]int{},
		restarts: map[string][]time.Duration{}, downSince: map[string]time.Time{}, downFor: map[string]time.Duration{},
		observed: map[string]map[string]wire.TxStatus{}, stopClients: make(chan struct{}), allow3PC: true}
}

// enough: the minimum kills and transactions are reached.
func (tt *torture) enough() bool {
	tt.nmu.Lock()
	kills := 0
	for _, k := range tt.kills {
		kills += k
	}
	tt.nmu.Unlock()
	tt.mu.Lock()
	txs := len(tt.transfers)
	tt.mu.Unlock()
	return kills >= tortureMinKills && txs >= tortureMinTxs
}

func (tt *torture) brokenHarness() bool {
	tt.nmu.Lock()
	defer tt.nmu.Unlock()
	return len(tt.infra) > 0
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

// ---------------------------------------------------------------------------
// Clients.

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
		proto:    wire.TwoPC,
		fromPart: tt.parts[from], toPart: tt.parts[to],
		fromAcct: rng.IntN(tortureAccounts), toAcct: rng.IntN(tortureAccounts),
		amount: 1 + rng.Int64N(tortureMaxAmount),
		client: client,
	}
	if tt.o.proto != wire.TwoPC && (tt.o.proto == wire.ThreePC || rng.IntN(2) == 0) && tt.enter(wire.ThreePC) {
		tr.proto = wire.ThreePC
	}
	tr.sent = time.Now()
	tt.mu.Lock()
	tt.transfers = append(tt.transfers, tr)
	tt.byID[tr.id] = tr
	tt.mu.Unlock()
	return tr
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

// ---------------------------------------------------------------------------
// The observer.

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

// ---------------------------------------------------------------------------
// The nemesis.

func (tt *torture) note(format string, args ...any) {
	e := event{at: time.Now(), what: fmt.Sprintf(format, args...)}
	tt.nmu.Lock()
	tt.timeline = append(tt.timeline, e)
	tt.nmu.Unlock()
}

func (tt *torture) infraFailure(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	tt.note("HARNESS FAILURE: %s", firstLine(msg))
	tt.nmu.Lock()
	tt.infra = append(tt.infra, msg)
	tt.nmu.Unlock()
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// nemesis kills, restarts and pauses nodes until stop is closed. Every
// action ends with every node running and none paused. In the default mode
// it also switches epochs: "mixed" (2PC and 3PC, kills only) and "2PC"
// (2PC only, kills and pauses).
func (tt *torture) nemesis(stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(tt.o.seed, 1<<32))
	pausing := tt.o.pauses3PC
	epochEnd := time.Now().Add(tortureEpoch(rng))
	tt.countEpoch("mixed")
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(100+rng.IntN(400)) * time.Millisecond):
		}
		if !tt.o.pauses3PC && time.Now().After(epochEnd) {
			if pausing {
				tt.setAllow3PC(true)
				pausing = false
				tt.countEpoch("mixed")
			} else {
				tt.setAllow3PC(false)
				pausing = tt.drain3PC(stop)
				tt.countEpoch("2PC")
			}
			epochEnd = time.Now().Add(tortureEpoch(rng))
		}
		tt.act(rng, pausing)
		tt.ensureUp()
		if tt.brokenHarness() {
			return
		}
	}
}

func tortureEpoch(rng *rand.Rand) time.Duration {
	return time.Duration(3000+rng.IntN(3000)) * time.Millisecond
}

func (tt *torture) countEpoch(kind string) {
	tt.nmu.Lock()
	tt.epochs++
	tt.nmu.Unlock()
	tt.note("epoch %s begins", kind)
}

func (tt *torture) setAllow3PC(v bool) {
	tt.modeMu.Lock()
	tt.allow3PC = v
	tt.modeMu.Unlock()
}

// drain3PC waits, with every node up and unpaused, until no 3PC
// transaction is in flight at a client or in doubt on any node, so that
// the pauses to come cannot touch one. It reports whether pausing is safe.
func (tt *torture) drain3PC(stop <-chan struct{}) bool {
	begun := time.Now()
	var last error
	for time.Since(begun) < tortureHealBound {
		select {
		case <-stop:
			return false
		default:
		}
		if n := tt.inflight3PC.Load(); n > 0 {
			last = fmt.Errorf("%d 3PC transactions in flight at clients", n)
		} else if last = tt.inDoubt(wire.ThreePC); last == nil {
			tt.nmu.Lock()
			tt.drainWaits = append(tt.drainWaits, time.Since(begun))
			tt.nmu.Unlock()
			tt.note("3PC drained in %v", time.Since(begun).Round(time.Millisecond))
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg := fmt.Sprintf("at %s, with every node up and nothing paused for %v: %v", clock(time.Now()), tortureHealBound, last)
	tt.note("3PC NOT DRAINED: %v", last)
	tt.nmu.Lock()
	tt.stuck = append(tt.stuck, msg)
	tt.nmu.Unlock()
	return false
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

// act carries out one random action.
func (tt *torture) act(rng *rand.Rand, pausing bool) {
	nodes := tt.nodes
	pick := func() *cluster.Node { return nodes[rng.IntN(len(nodes))] }
	two := func() (*cluster.Node, *cluster.Node) {
		i := rng.IntN(len(nodes))
		j := (i + 1 + rng.IntN(len(nodes)-1)) % len(nodes)
		return nodes[i], nodes[j]
	}
	down := func() time.Duration { return time.Duration(rng.IntN(400)) * time.Millisecond }
	r := rng.IntN(100)
	pauseShare := 35
	if tt.o.pauses3PC {
		pauseShare = 60 // the point of that mode
	}
	if pausing && r < pauseShare {
		// Pause one node (or two: in the 3PC mode, often the coordinator
		// and a participant, the case in which 3PC's participants decide
		// without the coordinator), longer than the timeouts; sometimes
		// kill another meanwhile.
		paused := []*cluster.Node{pick()}
		switch {
		case tt.o.pauses3PC && rng.IntN(3) == 0:
			paused = []*cluster.Node{nodes[0], nodes[1+rng.IntN(len(nodes)-1)]}
		case rng.IntN(4) == 0:
			a, b := two()
			paused = []*cluster.Node{a, b}
		}
		d := torturePauseMin + time.Duration(rng.Int64N(int64(torturePauseMax-torturePauseMin)))
		for _, n := range paused {
			tt.pause(n)
		}
		var victim *cluster.Node
		if rng.IntN(3) == 0 {
			if v := pick(); !slices.Contains(paused, v) {
				victim = v
				time.Sleep(d / 3)
				tt.kill(victim)
				d -= d / 3
			}
		}
		time.Sleep(d)
		for _, n := range paused {
			tt.resume(n)
		}
		if victim != nil {
			tt.restart(victim)
		}
		return
	}
	r = rng.IntN(100)
	switch {
	case r < 55:
		// One node (the coordinator a quarter of the time).
		n := pick()
		tt.kill(n)
		time.Sleep(down())
		tt.restart(n)
	case r < 80:
		// Two at once, back in either order.
		a, b := two()
		tt.kill(a)
		tt.kill(b)
		time.Sleep(down())
		if rng.IntN(2) == 0 {
			a, b = b, a
		}
		tt.restart(a)
		time.Sleep(down() / 4)
		tt.restart(b)
	case r < 90:
		// Killed again while it recovers its log.
		n := pick()
		tt.kill(n)
		if err := n.Launch(); err != nil {
			tt.infraFailure("relaunching %s: %v", n.ID, err)
			return
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		tt.kill(n)
		tt.nmu.Lock()
		tt.recKills++
		tt.nmu.Unlock()
		time.Sleep(down() / 4)
		tt.restart(n)
	default:
		// Every node at once.
		for _, n := range nodes {
			tt.kill(n)
		}
		time.Sleep(down())
		for _, i := range rng.Perm(len(nodes)) {
			tt.restart(nodes[i])
		}
	}
}

func (tt *torture) kill(n *cluster.Node) {
	if !n.Running() {
		return
	}
	pid := n.Pid()
	if err := n.Kill(); err != nil {
		tt.infraFailure("kill -9 %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.kills[n.ID]++
	if _, down := tt.downSince[n.ID]; !down {
		tt.downSince[n.ID] = time.Now()
	}
	tt.nmu.Unlock()
	tt.note("kill -9 %s (pid %d)", n.ID, pid)
}

func (tt *torture) restart(n *cluster.Node) {
	if n.Running() {
		return
	}
	begun := time.Now()
	if err := n.LaunchAndDial(tortureStartBound); err != nil {
		tt.infraFailure("restarting %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.restarts[n.ID] = append(tt.restarts[n.ID], time.Since(begun))
	if since, ok := tt.downSince[n.ID]; ok {
		tt.downFor[n.ID] += time.Since(since)
		delete(tt.downSince, n.ID)
	}
	tt.nmu.Unlock()
	tt.note("restarted %s (pid %d)", n.ID, n.Pid())
}

func (tt *torture) pause(n *cluster.Node) {
	if err := n.Pause(); err != nil {
		tt.infraFailure("pausing %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.pauses[n.ID]++
	tt.nmu.Unlock()
	tt.note("SIGSTOP %s (pid %d)", n.ID, n.Pid())
}

func (tt *torture) resume(n *cluster.Node) {
	if err := n.Resume(); err != nil {
		tt.infraFailure("resuming %s: %v", n.ID, err)
		return
	}
	tt.note("SIGCONT %s (pid %d)", n.ID, n.Pid())
}

// ensureUp restarts any node that is down: one the nemesis did not kill
// crashed, which is a finding.
func (tt *torture) ensureUp() {
	for _, n := range tt.nodes {
		if n.Running() {
			continue
		}
		if k := n.Exited(); k > 0 {
			tt.nmu.Lock()
			if k > tt.crashSeen[n.ID] {
				tt.crashSeen[n.ID] = k
				tt.crashes = append(tt.crashes, fmt.Sprintf("%s exited by itself: %s\n%s", n.ID, n.Unexpected()[k-1], n.LogTail(40)))
			}
			tt.nmu.Unlock()
			tt.note("%s found dead (crashed)", n.ID)
		}
		tt.restart(n)
	}
}

// heal: the nemesis and the clients have stopped; every node runs and none
// is paused.
func (tt *torture) heal() {
	for _, n := range tt.nodes {
		if err := n.Resume(); err != nil {
			tt.infraFailure("resuming %s: %v", n.ID, err)
		}
	}
	tt.ensureUp()
}

// ---------------------------------------------------------------------------
// Checks.

func (tt *torture) violate(invariant string, txids []string, format string, args ...any) {
	v := violation{invariant: invariant, detail: fmt.Sprintf(format, args...), txids: txids, only3PC: len(txids) > 0}
	for _, id := range txids {
		tr := tt.byID[id]
		if tr == nil || tr.proto != wire.ThreePC {
			v.only3PC = false
		}
	}
	tt.violations = append(tt.violations, v)
}

// checkAll runs every check after healing.
func (tt *torture) checkAll(healed time.Time) {
	t := tt.t
	if tt.brokenHarness() {
		return // report() says why; the cluster's state proves nothing
	}

	// 1. Nothing in doubt within tortureHealBound of healing.
	if err := cluster.Poll(context.Background(), time.Until(healed.Add(tortureHealBound)), func() error { return tt.inDoubt("") }); err != nil {
		tt.violate("no transaction left READY/PRECOMMITTED/undecided 30s after healing", doubtIDs(err), "%v", err)
	} else {
		t.Logf("nothing in doubt %v after healing", time.Since(healed).Round(time.Millisecond))
	}

	// 2. Nothing locked: a transaction touching every account on every
	// participant commits (tried again while it aborts, until the bound).
	tt.lockProbe(healed)

	// 3. Every transfer's outcome: what its client was told, checked
	// against the coordinator's record for the recent ones.
	tt.settleOutcomes()

	// 4. The retries may have run transfers the coordinator had never
	// heard of: wait until those settle too.
	if err := cluster.Poll(context.Background(), tortureHealBound, func() error { return tt.inDoubt("") }); err != nil {
		tt.violate("no transaction left undecided after the final retries", doubtIDs(err), "%v", err)
	}

	// 5. The final state of every node.
	parts := map[string]*wire.Status{}
	for _, p := range tt.c.Parts {
		st, err := tortureStatus(p.Addr())
		if err != nil {
			t.Errorf("seed %d: status of %s: %v", tt.o.seed, p.ID, err)
			return
		}
		parts[p.ID] = st
	}
	coord, err := tt.coordStatus()
	if err != nil {
		t.Errorf("seed %d: the coordinator's status: %v", tt.o.seed, err)
	}
	tt.checkBalances(parts)
	tt.checkListed(parts, coord)
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

// lockProbe runs "ADD acctI 0" for every account on every participant until
// it commits; a lock still held tortureHealBound after healing is a
// violation. Any abort is retried, not only "locked": a PREPARE slower than
// a peer's --timeout is legitimately aborted by that peer's query ("asked
// by D before it was prepared here"), and a healed cluster may be slow for
// a moment while it catches up.
func (tt *torture) lockProbe(healed time.Time) {
	var ops []wire.Op
	for i := range tortureAccounts {
		ops = append(ops, wire.Op{Kind: wire.OpAdd, Key: acct(i), Delta: 0})
	}
	deadline := healed.Add(tortureHealBound)
	var last string
	for try := 0; ; try++ {
		id := fmt.Sprintf("probe-%d", try)
		res, err := tt.startOnce(id, wire.TwoPC, ops)
		switch {
		case err == nil && res.Outcome == wire.StateCommitted:
			tt.t.Logf("lock probe %s committed %v after healing (%d tries)", id, time.Since(healed).Round(time.Millisecond), try+1)
			return
		case err == nil:
			last = fmt.Sprintf("%s %s: %s", id, res.Outcome, res.Reason)
		default:
			last = fmt.Sprintf("%s: %v", id, err)
		}
		if time.Now().After(deadline) {
			var held []string
			if _, holder, ok := strings.Cut(last, "locked by "); ok {
				held = []string{strings.Fields(holder)[0]}
			}
			tt.violate("no key left locked 30s after healing (the lock probe, ADD 0 on every account, commits)", held,
				"%d tries; the last: %s", try+1, last)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settleOutcomes gives every transfer the outcome the checks hold the
// cluster to: what its client was told, first or when it asked again. The
// recent ones (tortureCheckWindow, well inside the coordinator's
// --keep-outcomes) and any still UNKNOWN are started once more, same id
// and operations: the coordinator must answer with its recorded outcome
// and run nothing, or, for an id it never logged, run it now (also fine:
// that run is its outcome).
func (tt *torture) settleOutcomes() {
	var cl *transport.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	recent := len(tt.transfers) - tortureCheckWindow
	for i, tr := range tt.transfers {
		known := outPending
		switch {
		case tr.seen == outRefused:
			tr.final = outRefused
			continue
		case tr.seen == outCommitted || tr.seen == outAborted:
			known = tr.seen
		case tr.resolved == outCommitted || tr.resolved == outAborted:
			known = tr.resolved
		}
		if known != outPending && i < recent {
			tr.final = known
			continue
		}
		var res *wire.StartResult
		var err error
		for try := 0; try < 5; try++ {
			if cl == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				cl, err = transport.DialClient(ctx, tt.c.Coord.Addr())
				cancel()
				if err != nil {
					cl = nil
					time.Sleep(200 * time.Millisecond)
					continue
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), tortureCallTimeout)
			res, err = cl.Start(ctx, tr.id, tr.proto, tr.ops())
			cancel()
			if err == nil {
				break
			}
			cl.Close()
			cl = nil
			time.Sleep(200 * time.Millisecond)
		}
		switch {
		case err != nil:
			tr.checked, tr.checkedWhy = outUnknown, err.Error()
			tt.violate("a retried id returns its recorded outcome", []string{tr.id}, "%s: starting it again after healing failed: %v", tr.id, err)
		case outcomeOf(res.Outcome) == outUnknown:
			tr.checked, tr.checkedWhy = outUnknown, fmt.Sprintf("outcome %q", res.Outcome)
			tt.violate("a retried id returns its recorded outcome", []string{tr.id}, "%s: starting it again answered %q", tr.id, res.Outcome)
		default:
			tr.checked, tr.checkedWhy = outcomeOf(res.Outcome), res.Reason
		}
		switch {
		case known == outPending:
			tr.final = tr.checked
		case tr.checked != outUnknown && tr.checked != known:
			tt.violate("every outcome a client was told holds (the coordinator's record agrees)", []string{tr.id},
				"%s: the client was told %s; the same id now answers %s (%q)", tr.id, known, tr.checked, tr.checkedWhy)
			tr.final = known
		default:
			tr.final = known
		}
	}
}

// checkBalances: every participant's store is the opening balances plus
// exactly the committed transfers; no balance is negative; money is
// conserved.
func (tt *torture) checkBalances(parts map[string]*wire.Status) {
	want := map[string]map[string]int64{}
	for _, p := range tt.parts {
		want[p] = map[string]int64{}
		for i := range tortureAccounts {
			want[p][acct(i)] = tortureInitial
		}
	}
	// Committed transfers by account, to name suspects in a mismatch.
	touching := map[string][]string{}
	for _, tr := range tt.transfers {
		if tr.final == outCommitted {
			want[tr.fromPart][acct(tr.fromAcct)] -= tr.amount
			want[tr.toPart][acct(tr.toAcct)] += tr.amount
		}
		touching[tr.fromPart+":"+acct(tr.fromAcct)] = append(touching[tr.fromPart+":"+acct(tr.fromAcct)], tr.id)
		touching[tr.toPart+":"+acct(tr.toAcct)] = append(touching[tr.toPart+":"+acct(tr.toAcct)], tr.id)
	}
	var total int64
	for _, p := range tt.parts {
		st := parts[p]
		for k, v := range st.Store {
			n, err := strconv.ParseInt(v, 10, 64)
			_, isAcct := want[p][k]
			switch {
			case !isAcct:
				tt.violate("no key but the accounts", nil, "%s: unexpected key %s = %q", p, k, v)
			case err != nil:
				tt.violate("balances are integers", nil, "%s: %s = %q", p, k, v)
			default:
				total += n
				if n < 0 {
					tt.violate("no negative balance", nil, "%s: %s = %d", p, k, n)
				}
			}
		}
		for i := range tortureAccounts {
			k := acct(i)
			got, ok := st.Store[k]
			if !ok {
				tt.violate("balance = initial + committed transfers", nil, "%s: %s missing", p, k)
				continue
			}
			if got != strconv.FormatInt(want[p][k], 10) {
				tt.violate("balance = initial + committed transfers", nil,
					"%s: %s = %s, want %d (opening %d plus the %d committed transfers touching it; %d transfers touched it in all)",
					p, k, got, want[p][k], tortureInitial, tt.committedTouching(p, i), len(touching[p+":"+k]))
			}
		}
	}
	if want := int64(len(tt.parts) * tortureAccounts * tortureInitial); total != want {
		tt.violate("the sum over every account is conserved", nil, "sum %d, want %d", total, want)
	}
}

func (tt *torture) committedTouching(part string, i int) int {
	n := 0
	for _, tr := range tt.transfers {
		if tr.final == outCommitted && ((tr.fromPart == part && tr.fromAcct == i) || (tr.toPart == part && tr.toAcct == i)) {
			n++
		}
	}
	return n
}

// checkListed compares every state a node still lists (participants keep
// the live transactions and the last forgotten ones; the coordinator its
// outcome window) with the outcomes, and the nodes with each other.
func (tt *torture) checkListed(parts map[string]*wire.Status, coord *wire.Status) {
	for p, st := range parts {
		tt.record(p, st)
	}
	listed := tt.observed // participant → id → status; no more writers
	for _, tr := range tt.transfers {
		want := tr.final
		from, okFrom := listed[tr.fromPart][tr.id]
		to, okTo := listed[tr.toPart][tr.id]
		if okFrom && okTo && from.State != to.State {
			tt.violate("no transfer applied on one side only", []string{tr.id},
				"%s: %s says %s (%q), %s says %s (%q)", tr.id, tr.fromPart, from.State, from.Reason, tr.toPart, to.State, to.Reason)
			continue
		}
		for _, side := range []struct {
			part string
			tx   wire.TxStatus
			ok   bool
		}{{tr.fromPart, from, okFrom}, {tr.toPart, to, okTo}} {
			if !side.ok {
				continue
			}
			got := outcomeOf(side.tx.State)
			switch {
			case want == outRefused:
				tt.violate("a refused transaction never runs", []string{tr.id},
					"%s was refused (%q) but %s lists it %s", tr.id, tr.reason, side.part, side.tx.State)
			case (want == outCommitted || want == outAborted) && got != want:
				tt.violate("every outcome a client was told (or the retry recorded) is what the participants did", []string{tr.id},
					"%s: outcome %s, but %s lists it %s (%q)", tr.id, want, side.part, side.tx.State, side.tx.Reason)
			}
		}
	}
	if coord == nil {
		return
	}
	for _, tx := range coord.Transactions {
		tr := tt.byID[tx.TxID]
		if !tx.State.Final() {
			tt.violate("the coordinator has decided everything after healing", []string{tx.TxID}, "%s is %s on the coordinator", tx.TxID, tx.State)
			continue
		}
		if tr != nil {
			if tr.final == outRefused {
				tt.violate("a refused transaction never runs", []string{tr.id}, "%s was refused (%q) but the coordinator lists it %s", tr.id, tr.reason, tx.State)
			} else if outcomeOf(tx.State) != tr.final {
				tt.violate("the coordinator agrees with the outcomes", []string{tr.id}, "%s: outcome %s, coordinator lists %s (%q)", tr.id, tr.final, tx.State, tx.Reason)
			}
		}
		for p, s := range tx.Participants {
			if s.Final() && s != tx.State {
				tt.violate("coordinator and participants agree on every outcome the coordinator remembers", []string{tx.TxID},
					"%s: coordinator %s, its record of %s: %s", tx.TxID, tx.State, p, s)
			}
			if ptx, ok := listed[p][tx.TxID]; ok && ptx.State.Final() && ptx.State != tx.State {
				tt.violate("coordinator and participants agree on every outcome the coordinator remembers", []string{tx.TxID},
					"%s: coordinator %s (%q), %s lists %s (%q)", tx.TxID, tx.State, tx.Reason, p, ptx.State, ptx.Reason)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The report.

type tortureFigures struct {
	txs, twoPC, threePC                      int
	committed, aborted, unknown, refused     int
	unknownCommitted, unknownAborted         int
	unknownAsked, unknownAsks                int // resolved by asking again during the run; the asks
	abortLocked, abortValidation, abortOther int
	otherReasons                             map[string]int // abort reasons but locks and validation, digits blanked
	unknownWhy                               map[string]int // why clients lost outcomes, digits blanked
	refusedWhy                               map[string]int
	latency                                  []time.Duration // of the first answers that were outcomes
}

// reasonClass blanks the digits of a reason: "no vote from C within 1s"
// and "asked by t3-12 ..." gather in classes.
func reasonClass(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, s)
}

// topClasses lists the most frequent classes, most frequent first.
func topClasses(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || (all[i].v == all[j].v && all[i].k < all[j].k) })
	var out []string
	for i, e := range all {
		if i == n {
			out = append(out, fmt.Sprintf("... %d more classes", len(all)-n))
			break
		}
		out = append(out, fmt.Sprintf("%d× %q", e.v, e.k))
	}
	return strings.Join(out, "; ")
}

func (tt *torture) figures() tortureFigures {
	f := tortureFigures{otherReasons: map[string]int{}, unknownWhy: map[string]int{}, refusedWhy: map[string]int{}}
	for _, tr := range tt.transfers {
		f.txs++
		if tr.proto == wire.ThreePC {
			f.threePC++
		} else {
			f.twoPC++
		}
		if tr.seen == outCommitted || tr.seen == outAborted {
			f.latency = append(f.latency, tr.answered.Sub(tr.sent))
		}
		switch tr.seen {
		case outCommitted:
			f.committed++
		case outAborted:
			f.aborted++
			switch {
			case strings.Contains(tr.reason, "locked by"):
				f.abortLocked++
			case strings.Contains(tr.reason, "would be"):
				f.abortValidation++
			default:
				f.abortOther++
				f.otherReasons[reasonClass(tr.reason)]++
			}
		case outUnknown:
			f.unknown++
			f.unknownAsks += tr.asks
			if tr.resolved == outCommitted || tr.resolved == outAborted {
				f.unknownAsked++
			}
			f.unknownWhy[reasonClass(tr.reason)]++
			switch tr.final {
			case outCommitted:
				f.unknownCommitted++
			case outAborted:
				f.unknownAborted++
			}
		case outRefused:
			f.refused++
			f.refusedWhy[reasonClass(tr.reason)]++
		}
	}
	return f
}

func (tt *torture) report(wall, load time.Duration) {
	t := tt.t
	f := tt.figures()
	tt.nmu.Lock()
	kills, pauses := 0, 0
	var killBy, pauseBy []string
	for _, n := range tt.nodes {
		kills += tt.kills[n.ID]
		pauses += tt.pauses[n.ID]
		killBy = append(killBy, fmt.Sprintf("%s %d", n.ID, tt.kills[n.ID]))
		pauseBy = append(pauseBy, fmt.Sprintf("%s %d", n.ID, tt.pauses[n.ID]))
	}
	var drainMax time.Duration
	for _, d := range tt.drainWaits {
		drainMax = max(drainMax, d)
	}
	tt.nmu.Unlock()

	t.Logf("torture figures (seed %d): wall %v (workload %v); %d transactions (%d 2PC, %d 3PC): "+
		"%d committed, %d aborted (%d lock conflicts, %d validation NO, %d other), "+
		"%d unknown (resolved: %d committed, %d aborted; %d by asking again during the run, %d asks), %d refused; "+
		"%d kills (%s; %d during recovery), %d pauses (%s); %d epochs, 3PC drains at most %v",
		tt.o.seed, wall.Round(time.Millisecond), load.Round(time.Millisecond), f.txs, f.twoPC, f.threePC,
		f.committed, f.aborted, f.abortLocked, f.abortValidation, f.abortOther,
		f.unknown, f.unknownCommitted, f.unknownAborted, f.unknownAsked, f.unknownAsks, f.refused,
		kills, strings.Join(killBy, ", "), tt.recKills, pauses, strings.Join(pauseBy, ", "), tt.epochs, drainMax.Round(time.Millisecond))

	observedTxs := map[string]bool{}
	for _, m := range tt.observed {
		for id := range m {
			observedTxs[id] = true
		}
	}
	t.Logf("observer: %d participant status polls; %d of %d transfers seen final on a participant", tt.polls, countTransfers(observedTxs, tt.byID), f.txs)
	t.Logf("other aborts: %s", topClasses(f.otherReasons, 8))
	t.Logf("unknowns: %s", topClasses(f.unknownWhy, 5))
	var downs []string
	for _, n := range tt.nodes {
		var sum, worst time.Duration
		for _, d := range tt.restarts[n.ID] {
			sum += d
			worst = max(worst, d)
		}
		if k := len(tt.restarts[n.ID]); k > 0 {
			downs = append(downs, fmt.Sprintf("%s down %v in all (%.0f%%), restarts serve in %v on average, %v at worst",
				n.ID, tt.downFor[n.ID].Round(time.Millisecond), 100*tt.downFor[n.ID].Seconds()/load.Seconds(),
				(sum/time.Duration(k)).Round(time.Millisecond), worst.Round(time.Millisecond)))
		}
	}
	t.Logf("downtime: %s", strings.Join(downs, "; "))
	if len(f.latency) > 0 {
		slices.Sort(f.latency)
		q := func(p float64) time.Duration {
			return f.latency[int(p*float64(len(f.latency)-1))].Round(time.Microsecond)
		}
		t.Logf("latency of an answered transfer: p50 %v, p90 %v, p99 %v, max %v", q(0.5), q(0.9), q(0.99), q(1))
	}
	if f.refused > 0 {
		t.Logf("refusals: %s", topClasses(f.refusedWhy, 5))
	}

	for _, msg := range tt.infra {
		t.Errorf("seed %d: harness: %s", tt.o.seed, msg)
	}
	for _, msg := range tt.crashes {
		t.Errorf("seed %d: a node crashed: %s", tt.o.seed, msg)
	}
	if len(tt.coordStatusFails) > 0 {
		t.Errorf("seed %d: the coordinator's status went unanswered (it was up, not paused; 5s), first %s; "+
			"from then on \"nothing in doubt\" was checked on the participants only, and the coordinator's own list of outcomes was not compared with theirs",
			tt.o.seed, tt.coordStatusFails[0])
	}
	for _, msg := range tt.stuck {
		t.Errorf("seed %d: invariant \"3PC terminates with every node up\" violated %s", tt.o.seed, msg)
	}
	if len(tt.infra) == 0 && (kills < tortureMinKills || f.txs < tortureMinTxs) {
		t.Errorf("seed %d: the run made %d kills over %d transactions in %v; the torture wants at least %d over %d",
			tt.o.seed, kills, f.txs, load.Round(time.Second), tortureMinKills, tortureMinTxs)
	}

	// In the 3PC-pauses mode, violations of 3PC transactions are the
	// documented limit; store-level mismatches are put down to them when
	// there are any.
	any3PC := false
	for _, v := range tt.violations {
		if v.only3PC {
			any3PC = true
		}
	}
	var failing, documented []violation
	for _, v := range tt.violations {
		if tt.o.pauses3PC && (v.only3PC || (len(v.txids) == 0 && any3PC)) {
			documented = append(documented, v)
		} else {
			failing = append(failing, v)
		}
	}
	if tt.o.pauses3PC {
		if len(documented) == 0 {
			t.Logf("3PC with pauses (seed %d): no atomicity violation seen in %d 3PC transactions and %d pauses", tt.o.seed, f.threePC, pauses)
		} else {
			t.Logf("3PC with pauses (seed %d): %d violations of 3PC transactions (a pause past the timeouts is a partition: docs/protocols.md, \"Why 3PC is not safe under partitions\"):\n%s",
				tt.o.seed, len(documented), tt.describe(documented))
		}
	}
	if len(failing) > 0 {
		t.Errorf("seed %d: %d invariant violations:\n%s", tt.o.seed, len(failing), tt.describe(failing))
	}
}

// describe lists violations with, for the transactions involved (the first
// few), the ledger entry, each node's state and the nodes' log lines naming
// them, and the nemesis's actions around them.
func (tt *torture) describe(vs []violation) string {
	var b strings.Builder
	byInv := map[string]int{}
	for _, v := range vs {
		byInv[v.invariant]++
	}
	invs := make([]string, 0, len(byInv))
	for inv := range byInv {
		invs = append(invs, inv)
	}
	sort.Strings(invs)
	for _, inv := range invs {
		fmt.Fprintf(&b, "  invariant %q: %d violations\n", inv, byInv[inv])
	}
	const maxShown = 12
	for i, v := range vs {
		if i == maxShown {
			fmt.Fprintf(&b, "  ... %d more\n", len(vs)-maxShown)
			break
		}
		fmt.Fprintf(&b, "- [%s] %s\n", v.invariant, v.detail)
	}
	var ids []string
	for _, v := range vs {
		for _, id := range v.txids {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	const maxDetailed = 5
	for i, id := range ids {
		if i == maxDetailed {
			fmt.Fprintf(&b, "(%d more transactions involved)\n", len(ids)-maxDetailed)
			break
		}
		b.WriteString(tt.dossier(id))
	}
	return b.String()
}

// dossier is everything known about one transaction.
func (tt *torture) dossier(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "=== %s\n", id)
	tr := tt.byID[id]
	if tr != nil {
		fmt.Fprintf(&b, "  ledger: %s\n", tr)
	}
	for _, n := range tt.nodes {
		st, err := tortureStatus(n.Addr())
		state := "not listed"
		switch {
		case err != nil:
			state = "status failed: " + err.Error()
		default:
			for _, tx := range st.Transactions {
				if tx.TxID == id {
					state = fmt.Sprintf("%s %s (%q) %v", tx.Protocol, tx.State, tx.Reason, tx.Participants)
				}
			}
		}
		fmt.Fprintf(&b, "  %s now: %s\n", n.ID, state)
	}
	tt.omu.Lock()
	for _, p := range tt.parts {
		if tx, ok := tt.observed[p][id]; ok {
			fmt.Fprintf(&b, "  %s showed during the run: %s %s (%q)\n", p, tx.Protocol, tx.State, tx.Reason)
		}
	}
	tt.omu.Unlock()
	for _, n := range tt.nodes {
		lines := n.LogLines(id)
		// "t1-2" also matches "t1-23": keep exact ids.
		kept := lines[:0]
		for _, l := range lines {
			if strings.Contains(l, "tx="+id+" ") || strings.HasSuffix(l, "tx="+id) || strings.Contains(l, " "+id+" ") {
				kept = append(kept, l)
			}
		}
		if len(kept) > 15 {
			kept = kept[len(kept)-15:]
		}
		for _, l := range kept {
			fmt.Fprintf(&b, "  %s log: %s\n", n.ID, l)
		}
	}
	if tr != nil {
		from, to := tr.sent.Add(-3*time.Second), tr.answered.Add(3*time.Second)
		if tr.answered.IsZero() {
			to = tr.sent.Add(tortureCallTimeout)
		}
		tt.nmu.Lock()
		for _, e := range tt.timeline {
			if !e.at.Before(from) && !e.at.After(to) {
				fmt.Fprintf(&b, "  nemesis %s: %s\n", clock(e.at), e.what)
			}
		}
		tt.nmu.Unlock()
	}
	return b.String()
}

func countTransfers(ids map[string]bool, byID map[string]*transfer) int {
	n := 0
	for id := range ids {
		if byID[id] != nil {
			n++
		}
	}
	return n
}
