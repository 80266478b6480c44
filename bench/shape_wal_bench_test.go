package bench

import (
	"bytes"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
)

// The WAL shape benchmark prices the log writer the project was asked for,
// a wal actor serializing group-committed fsyncs, against the one txd
// runs (walwriter.Writer: an append under a short mutex, one flusher
// goroutine that writes, fsyncs and sends each waiter Durable). Both write
// the same records to a real log file in the test's temporary directory
// with real fsyncs, and both answer with walwriter.Durable; requester
// actors (two, as a node's shards) keep 1 or 256 forced records waiting
// between them and append a new one for each Durable.

// walAppend is an append sent to the wal actor.
type walAppend struct {
	rec     protocol.Record
	replyTo *actor.PID
}

// walFlush is the wal actor's note to itself to write and fsync what it
// has gathered: it queues behind every append already in the inbox, so
// appends that arrive during an fsync share the next one.
type walFlush struct{}

type walActorWaiter struct {
	pid *actor.PID
	rec protocol.Record
}

// walActor is the only writer of its log. With async, its Receive never
// waits for the disk: it hands a batch to a goroutine that writes and
// fsyncs it and tells the actor (walSynced), which answers the waiters;
// without, it writes and fsyncs in its Receive.
type walActor struct {
	log     *walstore.Log
	fatal   func(error)
	stats   *walwriter.Stats
	async   bool
	enc     *msgpack.Encoder
	buf     bytes.Buffer
	data    []byte
	waiters []walActorWaiter
	queued  bool // a walFlush is in the inbox
	syncing bool // async: a batch is with the syncer
	jobs    chan walBatch
}

// walBatch is what one write and fsync make durable.
type walBatch struct {
	data    []byte
	waiters []walActorWaiter
}

// walSynced tells the async wal actor that its batch is durable.
type walSynced struct{ b walBatch }

func (a *walActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		a.enc = msgpack.NewEncoder(&a.buf)
		if a.async {
			a.jobs = make(chan walBatch, 1)
			go a.syncer(c.Engine(), c.PID())
		}
	case actor.Stopped:
		if a.async {
			close(a.jobs)
		}
	case walAppend:
		m.rec.Time = time.Now().UnixNano()
		a.buf.Reset()
		if err := a.enc.Encode(&m.rec); err != nil {
			a.fatal(err)
			return
		}
		a.data = walstore.AppendRecord(a.data, walstore.RecordType(m.rec.Kind), a.buf.Bytes())
		if m.replyTo != nil {
			a.waiters = append(a.waiters, walActorWaiter{m.replyTo, m.rec})
		}
		if !a.queued {
			a.queued = true
			c.Send(c.PID(), walFlush{})
		}
	case walFlush:
		a.queued = false
		switch {
		case a.async && !a.syncing:
			a.handOff()
		case !a.async:
			if err := a.write(a.data); err != nil {
				a.fatal(err)
				return
			}
			a.answer(c, walBatch{a.data, a.waiters})
			a.waiters, a.data = a.waiters[:0], a.data[:0]
		}
	case walSynced:
		a.answer(c, m.b)
		a.syncing = false
		if len(a.data) > 0 {
			a.handOff()
		}
	}
}

// handOff gives the gathered batch to the syncer.
func (a *walActor) handOff() {
	a.syncing = true
	a.jobs <- walBatch{a.data, a.waiters}
	a.data, a.waiters = nil, nil
}

func (a *walActor) syncer(e *actor.Engine, self *actor.PID) {
	for b := range a.jobs {
		if err := a.write(b.data); err != nil {
			a.fatal(err)
			return
		}
		e.Send(self, walSynced{b})
	}
}

func (a *walActor) write(data []byte) error {
	if err := a.log.Write(data); err != nil {
		return err
	}
	a.stats.Fsyncs.Add(1)
	return a.log.Sync()
}

// answer tells each of b's waiters that its record is durable.
func (a *walActor) answer(c *actor.Context, b walBatch) {
	for _, w := range b.waiters {
		c.Engine().Send(w.pid, walwriter.Durable{Rec: w.rec})
	}
	clear(b.waiters)
}

// walRun is one run's bookkeeping.
type walRun struct {
	append   func(rec protocol.Record, replyTo *actor.PID)
	next     atomic.Int64
	n        int64
	done     atomic.Int64
	finished chan struct{}
}

// appendNext appends the next record, if any is left, for replyTo.
func (r *walRun) appendNext(replyTo *actor.PID) {
	i := r.next.Add(1) - 1
	if i >= r.n {
		return
	}
	r.append(protocol.Record{Kind: protocol.RecDecision, TxID: "shape-" + strconv.FormatInt(i, 10),
		Protocol: wire.TwoPC, Commit: true}, replyTo)
}

// walRequester keeps its share of the records waiting.
type walRequester struct {
	run   *walRun
	share int
}

func (q *walRequester) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		for range q.share {
			q.run.appendNext(c.PID())
		}
	case walwriter.Durable:
		if q.run.done.Add(1) == q.run.n {
			close(q.run.finished)
		}
		q.run.appendNext(c.PID())
	}
}

// runWAL makes n forced records durable through the given writer,
// inflight waiting at a time (noSync: fsync a no-op), and returns the
// log's path and how many fsyncs it took.
func runWAL(tb testing.TB, writer string, n, inflight int, noSync bool) (string, int64) {
	path := filepath.Join(tb.TempDir(), "shape.wal")
	l, _, err := walstore.Open(path, walstore.Options{NoSync: noSync},
		func(walstore.Record) error { return nil })
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		tb.Fatal(err)
	}
	fatal := func(err error) { tb.Error(err) }
	guard := func(p actor.Producer) actor.Producer { return hollywood.CrashOnPanic(p, quietLogger(), fatal) }
	run := &walRun{n: int64(n), finished: make(chan struct{})}
	stats := &walwriter.Stats{}
	var stop func()
	switch writer {
	case "flusher":
		w := walwriter.Start(l, walwriter.Config{Stats: stats, Fatal: fatal, Engine: e})
		run.append = func(rec protocol.Record, replyTo *actor.PID) {
			w.Append(walwriter.Entry{Rec: rec, ReplyTo: replyTo})
		}
		stop = w.Close
	case "actor", "actor-async":
		a := &walActor{log: l, fatal: fatal, stats: stats, async: writer == "actor-async"}
		pid := e.Spawn(guard(func() actor.Receiver { return a }), "wal", actor.WithInboxSize(1024))
		run.append = func(rec protocol.Record, replyTo *actor.PID) {
			e.Send(pid, walAppend{rec: rec, replyTo: replyTo})
		}
		stop = func() { hollywood.Poison(e, pid) }
	default:
		tb.Fatalf("unknown writer %q", writer)
	}
	var reqs []*actor.PID
	for i := range min(2, inflight) {
		q := &walRequester{run: run, share: inflight / min(2, inflight)}
		reqs = append(reqs, e.Spawn(guard(func() actor.Receiver { return q }), "requester",
			actor.WithID(strconv.Itoa(i)), actor.WithInboxSize(1024)))
	}
	select {
	case <-run.finished:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("%d of %d records durable", run.done.Load(), n)
	}
	for _, q := range reqs {
		hollywood.Poison(e, q)
	}
	stop()
	return path, stats.Fsyncs.Load()
}

// BenchmarkShapeWAL: CPU and time per forced record through each writer:
// one record waiting at a time (ns/op: append to Durable), with a real
// fsync each and with fsync a no-op (c1-nosync: the writer's own latency,
// which the disk's jitter hides otherwise), and 256 waiting (group commit;
// cpu-µs/rec: the process's CPU, fsync waits excluded).
func BenchmarkShapeWAL(b *testing.B) {
	for _, load := range []struct {
		name     string
		inflight int
		noSync   bool
	}{{"c1-nosync", 1, true}, {"c1", 1, false}, {"c256", 256, false}} {
		for _, writer := range []string{"flusher", "actor", "actor-async"} {
			b.Run(load.name+"/writer="+writer, func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				_, fsyncs := runWAL(b, writer, b.N, load.inflight, load.noSync)
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/rec")
				b.ReportMetric(float64(b.N)/float64(fsyncs), "records/fsync")
			})
		}
	}
}

// TestShapeWALDurable: both writers answer every record, and the log
// holds each of them once.
func TestShapeWALDurable(t *testing.T) {
	for _, writer := range []string{"flusher", "actor", "actor-async"} {
		t.Run(writer, func(t *testing.T) {
			const n = 2000
			path, _ := runWAL(t, writer, n, 256, false)
			seen := map[string]bool{}
			total := 0
			l, _, err := walstore.Open(path, walstore.Options{}, func(r walstore.Record) error {
				rec, err := walwriter.Decode(r)
				seen[rec.TxID] = true
				total++
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			if len(seen) != n || total != n {
				t.Fatalf("log holds %d records, %d distinct, want %d", total, len(seen), n)
			}
		})
	}
}
