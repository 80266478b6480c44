package actors

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/walstore"
)

// walAppend asks the WAL actor to log one record. With ReplyTo set, the
// actor answers walDurable{Rec} once the record is on disk. The WAL actor
// encodes it straight into its batch buffer: no buffer per record.
type walAppend struct {
	Rec     protocol.Record
	ReplyTo *actor.PID
	// Defer: ReplyTo is answered once the record is durable, but the record
	// starts no fsync of its own for up to walDeferMax; it shares the next
	// one a record without Defer starts.
	Defer bool
}

// walDeferMax bounds how long a deferred record waits for an fsync to share
// before it gets its own. Participants defer their COMMIT and ABORT records
// (protocol.Participant.settle): only the coordinator's END waits for them.
const walDeferMax = 2 * time.Millisecond

// walKick is the deferral timer: sync what was deferred if still waiting.
type walKick struct{ gen uint64 }

// walDurable says Rec is durable.
type walDurable struct{ Rec protocol.Record }

// walFlushed is the flusher goroutine telling the WAL actor it is idle
// again, and handing back the batch's buffers for reuse.
type walFlushed struct{ spare walBatch }

// WALStats counts the log's work; safe to read from any goroutine.
type WALStats struct {
	Fsyncs      atomic.Int64 // fsync calls
	Records     atomic.Int64 // records made durable
	Bytes       atomic.Int64 // bytes written
	Checkpoints atomic.Int64 // compactions
	LogBytes    atomic.Int64 // the log file's logical size now
}

// walShadow is the logical content of a node's log, kept up to date with
// every record written, so that a checkpoint can replace the log with
// exactly what it says (see CoordLog; a participant uses a second
// protocol.Participant fed by replay).
type walShadow interface {
	Apply(protocol.Record) error
	Snapshot() []protocol.Record
}

// participantShadow adapts a replay-only Participant.
type participantShadow struct{ p *protocol.Participant }

func (s participantShadow) Apply(r protocol.Record) error { return s.p.Replay(r) }
func (s participantShadow) Snapshot() []protocol.Record   { return s.p.Snapshot() }

type walWaiter struct {
	pid *actor.PID
	rec protocol.Record
}

type walBatch struct {
	data       []byte
	waiters    []walWaiter
	records    int
	deferred   int               // waiters that may wait for another record's fsync
	last       int               // where the last record starts in data (for the torn-write crash point)
	checkpoint []walstore.Record // non-nil: replace the log with these instead of appending data
}

// walActor is the only writer of a node's log, and it group-commits: while
// one batch is being written and fsynced by the flusher goroutine, every
// append that arrives is gathered into the next batch, which then shares a
// single fsync. The first append on an idle log goes to disk at once (a
// deferred one waits up to walDeferMax for company), so a
// lone transaction pays one fsync and no waiting. The fsync runs on the
// flusher goroutine, never inside Receive, so the actor stays responsive.
type walActor struct {
	log   *walstore.Log
	stats *WALStats
	fatal func(error)
	// Compaction: with a shadow, once compactAt bytes were appended since
	// the last checkpoint, the next batch replaces the log with a snapshot.
	shadow    walShadow
	compactAt int64
	appended  int64
	next      walBatch
	spare     walBatch // the last flushed batch's buffers, reused
	enc       *msgpack.Encoder
	buf       bytes.Buffer
	busy      bool
	jobs      chan walBatch
	done      chan struct{}
	engine    *actor.Engine
	self      *actor.PID
	kickGen   uint64      // the batch generation a pending walKick is for; 0: none
	batchGen  uint64      // counts dispatched batches
	trace     *trace.Ring // nil: not traced

	metrics *metrics.Node // fsync latency and records per fsync; nil: off
}

func newWALActor(log *walstore.Log, stats *WALStats, m *metrics.Node, fatal func(error), shadow walShadow, compactAt int64, tr *trace.Ring) actor.Producer {
	return func() actor.Receiver {
		stats.LogBytes.Store(log.End())
		return &walActor{log: log, stats: stats, metrics: m, fatal: fatal, shadow: shadow, compactAt: compactAt, trace: tr}
	}
}

func (w *walActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		w.engine, w.self = c.Engine(), c.PID()
		w.enc = msgpack.NewEncoder(&w.buf)
		w.jobs = make(chan walBatch, 1)
		w.done = make(chan struct{})
		go w.flusher(c.Engine(), c.PID())
	case actor.Stopped:
		if w.jobs != nil {
			// The flusher is idle or busy with one batch, so the channel
			// has room for the last one (lazy records included).
			if w.next.records > 0 {
				w.jobs <- w.next
			}
			close(w.jobs)
			<-w.done
		}
	case walAppend:
		// The record carries its append time, for traces (a checkpoint keeps it).
		m.Rec.Time = time.Now().UnixNano()
		if m.ReplyTo == nil {
			traceRecord(w.trace, &m.Rec, false, m.Rec.Time)
		}
		w.buf.Reset()
		if err := w.enc.Encode(&m.Rec); err != nil {
			w.fatal(fmt.Errorf("encode %v record for %s: %w", m.Rec.Kind, m.Rec.TxID, err))
			return
		}
		n := len(w.next.data)
		w.next.data = walstore.AppendRecord(w.next.data, walstore.RecordType(m.Rec.Kind), w.buf.Bytes())
		w.appended += int64(len(w.next.data) - n)
		w.next.records++
		w.next.last = n
		if w.shadow != nil {
			if err := w.shadow.Apply(m.Rec); err != nil {
				w.fatal(fmt.Errorf("wal: record %v for %s does not fit the log: %w", m.Rec.Kind, m.Rec.TxID, err))
				return
			}
		}
		if m.ReplyTo != nil {
			w.next.waiters = append(w.next.waiters, walWaiter{m.ReplyTo, m.Rec})
			if m.Defer {
				w.next.deferred++
			}
		}
		w.maybeDispatch()
	case walFlushed:
		w.busy = false
		w.spare = m.spare
		w.maybeDispatch()
	case walKick:
		if m.gen == w.kickGen {
			w.kickGen = 0
			if !w.busy && w.next.records > 0 {
				w.dispatch()
			}
		}
	}
}

// maybeDispatch sends the gathered batch to the flusher if it is free and
// the batch is due, or arms the deferral timer if it holds only deferred
// waiters.
func (w *walActor) maybeDispatch() {
	if w.busy || !w.due() {
		return
	}
	if len(w.next.waiters) > 0 && w.next.deferred == len(w.next.waiters) {
		// Only deferred waiters: give a record that needs an fsync a
		// moment to arrive and share it.
		if w.kickGen == 0 {
			w.kickGen = w.batchGen + 1
			afterFunc(w.engine, w.self, walDeferMax, walKick{gen: w.kickGen})
		}
		return
	}
	w.dispatch()
}

// due reports whether the gathered batch should go to disk now: whenever
// the flusher is free. Lazy records (BEGIN, END) are written at once too,
// unsynced: that costs a write, but a kill -9 then keeps them (the page
// cache survives a process crash), so a restarted coordinator still knows
// every transaction it started and aborts it visibly, everywhere.
func (w *walActor) due() bool { return w.next.records > 0 }

// dispatch hands the gathered batch to the flusher and starts a new one.
func (w *walActor) dispatch() {
	if w.shadow != nil && w.compactAt > 0 && w.appended >= w.compactAt {
		// The shadow has applied every gathered record, so the snapshot
		// holds them; the batch's waiters are acknowledged once the
		// snapshot is durable, and its bytes are not written.
		w.appended = 0
		w.next.checkpoint = w.snapshot()
	}
	w.batchGen++
	w.kickGen = 0 // a pending kick is for a batch that is on its way
	b := w.next
	w.next = walBatch{data: w.spare.data[:0], waiters: w.spare.waiters[:0]}
	w.spare = walBatch{}
	w.busy = true
	w.jobs <- b // never blocks: at most one batch is outstanding
}

func (w *walActor) flusher(e *actor.Engine, self *actor.PID) {
	defer close(w.done)
	unsynced := 0 // records written since the last fsync: the next one makes them durable
	for b := range w.jobs {
		var err error
		if b.checkpoint != nil {
			err = w.log.Rewrite(b.checkpoint) // fsyncs the new file and the directory
			w.stats.Checkpoints.Add(1)
			w.stats.Fsyncs.Add(1)
			unsynced = 0
		} else {
			if len(b.waiters) > 0 {
				walCrashTorn(w.log, b.data, b.last)
			}
			err = w.log.Write(b.data)
			unsynced += b.records
			if err == nil && len(b.waiters) > 0 {
				// Lazy-only batches skip the fsync: they ride on the next one.
				crashpoint.Hit(crashpoint.WALBatchWritten)
				err = w.sync(unsynced)
				w.stats.Fsyncs.Add(1)
				unsynced = 0
				if err == nil {
					crashpoint.Hit(crashpoint.WALSyncedBeforeNotify)
				}
			}
		}
		w.stats.LogBytes.Store(w.log.End())
		if err != nil {
			// A failed fsync leaves the page cache in an unknown state;
			// retrying is unsafe. Acknowledge nothing and stop the node.
			w.fatal(fmt.Errorf("wal %s: %w", w.log.Path(), err))
			return
		}
		w.stats.Records.Add(int64(b.records))
		w.stats.Bytes.Add(int64(len(b.data)))
		if w.trace != nil && len(b.waiters) > 0 {
			now := time.Now().UnixNano()
			for i := range b.waiters {
				traceRecord(w.trace, &b.waiters[i].rec, true, now)
			}
		}
		for _, wt := range b.waiters {
			e.Send(wt.pid, walDurable{Rec: wt.rec})
		}
		clear(b.waiters) // drop the PIDs and records for the collector
		e.Send(self, walFlushed{spare: walBatch{data: b.data[:0], waiters: b.waiters}})
	}
}

// sync fsyncs the log; with metrics on it times the fsync and records how
// many records it made durable (without, it reads no clock).
func (w *walActor) sync(records int) error {
	if !w.metrics.Timing() {
		return w.log.Sync()
	}
	t0 := time.Now()
	err := w.log.Sync()
	w.metrics.Fsync(time.Since(t0), records)
	return err
}

// snapshot encodes the shadow's snapshot as log records.
func (w *walActor) snapshot() []walstore.Record {
	recs := w.shadow.Snapshot()
	out := make([]walstore.Record, 0, max(len(recs), 1))
	for _, r := range recs {
		payload, err := msgpack.Marshal(&r)
		if err != nil {
			w.fatal(fmt.Errorf("wal: encode checkpoint record %v for %s: %w", r.Kind, r.TxID, err))
			return nil
		}
		out = append(out, walstore.Record{Type: walstore.RecordType(r.Kind), Payload: payload})
	}
	return out
}

// decodeRecord reads a protocol record back from the log, for replay.
func decodeRecord(r walstore.Record) (protocol.Record, error) {
	var rec protocol.Record
	if err := msgpack.Unmarshal(r.Payload, &rec); err != nil {
		return rec, fmt.Errorf("decode record at offset %d: %w", r.Offset, err)
	}
	rec.Kind = protocol.RecKind(r.Type)
	return rec, nil
}
