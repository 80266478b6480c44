package bench

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
)

// The shape benchmarks price the actor layout the project was asked for
// against the one the coordinator runs (docs/design.md), on hollywood
// itself and nothing else: the messages a 2PC transaction's host receives
// (Start, a vote from each of two participants, Durable for the decision,
// an ack from each, Durable for END) go round a model of the outside
// world (goroutines standing for the connections and the log, which answer
// each output with the next message), with 256 transactions in flight.
// The host's own work is a counter per phase, the same in every layout, so
// the difference between layouts is what hosting costs: spawns, stops,
// inbox wake-ups, relays.
//
//   - shards: one long-lived actor per core, each hosting the transactions
//     whose id maps to it (what actors/coordinator does).
//   - txn-actors: a coordinator actor spawns a supervised child per
//     transaction, which receives its messages and stops itself at the end.
//   - txn-sessions: the same, and each transaction actor spawns a session
//     child per participant, which sends the phase message and relays the
//     reply (retransmission timers left out: a lower bound).
//
// Every actor is wrapped with hollywood.CrashOnPanic, as txd's actors are,
// so a fresh goroutine pays the same stack warming it pays in txd.

// shapeInflight is how many transactions (or forced records) wait at once
// in each run: alone, and as in BenchmarkCommit2PC/c256.
var shapeInflight = []int{1, 256}

type (
	shStart   struct{ id int }
	shVote    struct{ id, part int }
	shAck     struct{ id, part int }
	shDurable struct{ id int }
	// shPhase asks a session actor to send its participant a phase message.
	shPhase struct {
		kind shOutKind
		id   int
	}
)

type shOutKind uint8

const (
	outPrepare shOutKind = iota // answered with shVote
	outLog                      // answered with shDurable
	outCommit                   // answered with shAck
	outDone                     // the transaction finished: start the next
)

// shOut is what a host hands the outside world; the answer goes to `to`.
type shOut struct {
	kind shOutKind
	to   *actor.PID
	id   int
	part int
}

// shapeWorld is the outside world and the run's bookkeeping.
type shapeWorld struct {
	engine   *actor.Engine
	inflight int
	out      chan shOut
	start    func(id int) // delivers a new transaction's Start to its host
	next     atomic.Int64
	n        int64
	done     atomic.Int64
	finished chan struct{}
	guard    func(actor.Producer) actor.Producer
	stopped  atomic.Int64 // transaction and session actors stopped
}

func newShapeWorld(tb testing.TB, n, inflight int) *shapeWorld {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &shapeWorld{engine: e, inflight: inflight, out: make(chan shOut, 4*inflight), n: int64(n), finished: make(chan struct{})}
	w.guard = func(p actor.Producer) actor.Producer {
		return hollywood.CrashOnPanic(p, logger, func(err error) { tb.Error(err) })
	}
	return w
}

// outside answers the hosts' outputs, as the participants' connections and
// the log would.
func (w *shapeWorld) outside() {
	for o := range w.out {
		switch o.kind {
		case outPrepare:
			w.engine.Send(o.to, shVote{o.id, o.part})
		case outLog:
			w.engine.Send(o.to, shDurable{o.id})
		case outCommit:
			w.engine.Send(o.to, shAck{o.id, o.part})
		case outDone:
			if w.done.Add(1) == w.n {
				close(w.finished)
			}
			w.launch()
		}
	}
}

func (w *shapeWorld) launch() {
	if id := w.next.Add(1) - 1; id < w.n {
		w.start(int(id))
	}
}

// run starts n transactions, w.inflight at a time, and waits for all.
func (w *shapeWorld) run(tb testing.TB) {
	for range 2 { // the connections' readers and the log's flusher
		go w.outside()
	}
	for range min(w.inflight, int(w.n)) {
		w.launch()
	}
	select {
	case <-w.finished:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("%d of %d transactions finished", w.done.Load(), w.n)
	}
	close(w.out)
}

// shTx is a transaction's progress, the same in every layout.
type shTx struct{ votes, acks, logged int }

// advance handles one of a transaction's messages at its host self; phase
// messages go to the participants directly, or through the transaction's
// sessions when it has them. It reports whether the transaction finished.
func (w *shapeWorld) advance(c *actor.Context, t *shTx, id int, msg any, sessions *[2]*actor.PID) bool {
	phase := func(kind shOutKind) {
		for part := range 2 {
			if sessions[part] != nil {
				c.Send(sessions[part], shPhase{kind, id})
			} else {
				w.out <- shOut{kind, c.PID(), id, part}
			}
		}
	}
	switch msg.(type) {
	case shStart:
		phase(outPrepare)
	case shVote:
		if t.votes++; t.votes == 2 {
			w.out <- shOut{outLog, c.PID(), id, 0}
		}
	case shDurable:
		if t.logged++; t.logged == 1 {
			phase(outCommit)
		} else {
			w.out <- shOut{kind: outDone, id: id}
			return true
		}
	case shAck:
		if t.acks++; t.acks == 2 {
			w.out <- shOut{outLog, c.PID(), id, 0}
		}
	}
	return false
}

// shShard hosts every transaction whose id maps to it.
type shShard struct {
	w   *shapeWorld
	txs map[int]*shTx
}

func (s *shShard) Receive(c *actor.Context) {
	var id int
	switch m := c.Message().(type) {
	case shStart:
		s.txs[m.id] = &shTx{}
		id = m.id
	case shVote:
		id = m.id
	case shAck:
		id = m.id
	case shDurable:
		id = m.id
	default:
		return
	}
	if s.w.advance(c, s.txs[id], id, c.Message(), &[2]*actor.PID{}) {
		delete(s.txs, id)
	}
}

// shCoordinator spawns a transaction actor per Start.
type shCoordinator struct {
	w        *shapeWorld
	sessions bool
}

func (co *shCoordinator) Receive(c *actor.Context) {
	m, ok := c.Message().(shStart)
	if !ok {
		return
	}
	t := &shTxn{w: co.w, id: m.id, withSessions: co.sessions}
	pid := c.SpawnChild(co.w.guard(func() actor.Receiver { return t }), "txn",
		actor.WithID(strconv.Itoa(m.id)), actor.WithInboxSize(8))
	c.Send(pid, m)
}

// shTxn is one transaction's actor.
type shTxn struct {
	w            *shapeWorld
	id           int
	tx           shTx
	withSessions bool
	sessions     [2]*actor.PID
}

func (t *shTxn) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		if t.withSessions {
			for part := range 2 {
				s := &shSession{w: t.w, part: part, txn: c.PID()}
				t.sessions[part] = c.SpawnChild(t.w.guard(func() actor.Receiver { return s }), "session",
					actor.WithID(strconv.Itoa(part)), actor.WithInboxSize(8))
			}
		}
	case shStart, shVote, shAck, shDurable:
		if t.w.advance(c, &t.tx, t.id, c.Message(), &t.sessions) {
			c.Engine().Poison(c.PID())
		}
	case actor.Stopped:
		t.w.stopped.Add(1)
	}
}

// shSession sends its participant the transaction's phase messages and
// relays the replies. Its transaction stops it, as hollywood stops a
// stopping actor's children: a session stopping itself could receive that
// second stop request too, whose context hollywood never closes, and the
// transaction would wait for it forever.
type shSession struct {
	w    *shapeWorld
	part int
	txn  *actor.PID
}

func (s *shSession) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case shPhase:
		s.w.out <- shOut{m.kind, c.PID(), m.id, s.part}
	case shVote:
		c.Send(s.txn, m)
	case shAck:
		c.Send(s.txn, m)
	case actor.Stopped:
		s.w.stopped.Add(1)
	}
}

// runShape runs n transactions in the given layout, inflight at a time,
// and returns its world.
func runShape(tb testing.TB, layout string, n, inflight int) *shapeWorld {
	w := newShapeWorld(tb, n, inflight)
	var hosts []*actor.PID
	switch layout {
	case "shards":
		for i := range runtime.GOMAXPROCS(0) {
			s := &shShard{w: w, txs: map[int]*shTx{}}
			hosts = append(hosts, w.engine.Spawn(w.guard(func() actor.Receiver { return s }), "txns",
				actor.WithID(strconv.Itoa(i)), actor.WithInboxSize(1024)))
		}
		w.start = func(id int) { w.engine.Send(hosts[id%len(hosts)], shStart{id}) }
	case "txn-actors", "txn-sessions":
		co := &shCoordinator{w: w, sessions: layout == "txn-sessions"}
		hosts = append(hosts, w.engine.Spawn(w.guard(func() actor.Receiver { return co }), "coordinator",
			actor.WithInboxSize(1024)))
		w.start = func(id int) { w.engine.Send(hosts[0], shStart{id}) }
	default:
		tb.Fatalf("unknown layout %q", layout)
	}
	w.run(tb)
	for _, h := range hosts {
		hollywood.Poison(w.engine, h)
	}
	return w
}

// BenchmarkShapeTxn: CPU and time per transaction of each layout, alone
// and with 256 in flight (cpu-µs/tx: the process's CPU, which every
// layout's goroutines and the outside world share; ns/op: wall time per
// transaction).
func BenchmarkShapeTxn(b *testing.B) {
	for _, inflight := range shapeInflight {
		for _, layout := range []string{"shards", "txn-actors", "txn-sessions"} {
			b.Run(fmt.Sprintf("c%d/host=%s", inflight, layout), func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				runShape(b, layout, b.N, inflight)
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/tx")
			})
		}
	}
}

// TestShapeHostsFinish (no x in its name: the benchmarks run with -run x):
// every layout carries every transaction to its end
// and leaves no transaction or session actor behind.
func TestShapeHostsFinish(t *testing.T) {
	for _, layout := range []string{"shards", "txn-actors", "txn-sessions"} {
		t.Run(layout, func(t *testing.T) {
			const n = 2000
			w := runShape(t, layout, n, 256)
			want := map[string]int64{"shards": 0, "txn-actors": n, "txn-sessions": 3 * n}[layout]
			deadline := time.Now().Add(10 * time.Second)
			for w.stopped.Load() != want {
				if time.Now().After(deadline) {
					t.Fatalf("%d actors stopped, want %d", w.stopped.Load(), want)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}
