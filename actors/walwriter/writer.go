package walwriter

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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

// Entry is one record for the log. With ReplyTo set, the writer sends
// Durable{Rec} to that actor once the record is on disk.
type Entry struct {
	Rec     protocol.Record
	ReplyTo *actor.PID
	// Defer: ReplyTo is answered once the record is durable, but the record
	// starts no fsync of its own for up to deferMax; it shares the next
	// one a record without Defer starts.
	Defer bool
}

// deferMax bounds how long a deferred record waits for an fsync to share
// before it gets its own. Participants defer their COMMIT and ABORT records
// (protocol.Participant.settle): only the coordinator's END waits for them.
const deferMax = 2 * time.Millisecond

// Durable says Rec is durable.
type Durable struct{ Rec protocol.Record }

// Stats counts the log's work; safe to read from any goroutine.
type Stats struct {
	Fsyncs      atomic.Int64 // fsync calls
	Records     atomic.Int64 // records made durable
	Bytes       atomic.Int64 // bytes written
	Checkpoints atomic.Int64 // compactions
	LogBytes    atomic.Int64 // the log file's logical size now
}

// Shadow is the logical content of a node's log, kept up to date with
// every record written, so that a checkpoint can replace the log with
// exactly what it says (see CoordLog; a participant uses a second
// protocol.Participant fed by replay).
type Shadow interface {
	Apply(protocol.Record) error
	Snapshot() []protocol.Record
}

// Applier is a storage engine the log's commits are applied to (a
// participant's, actors/participant): it hears which commits are durable
// in the log (Record.Seq), and a checkpoint makes them durable in the
// engine (SyncThrough) before the log drops them.
type Applier interface {
	Durable(seq uint64)
	SyncThrough(seq uint64) error
}

// ErrCheckpointLater, from Applier.SyncThrough, skips this checkpoint: the
// engine cannot catch up now (its node is stopping), and the log stays as
// it is, whole.
var ErrCheckpointLater = errors.New("walwriter: checkpoint skipped: the engine is stopping")

type walWaiter struct {
	pid *actor.PID
	rec protocol.Record
}

type walBatch struct {
	data       []byte
	recs       []protocol.Record // every record in data, for the shadow
	waiters    []walWaiter
	records    int
	deferred   int    // waiters that may wait for another record's fsync
	last       int    // where the last record starts in data (for the torn-write crash point)
	seq        uint64 // the highest commit number (Record.Seq) in data
	checkpoint bool   // replace the log with the shadow's snapshot instead of appending data
}

// Writer is the only writer of a node's log, and it group-commits:
// while the flusher goroutine writes and fsyncs one batch, every record
// appended meanwhile gathers in the next batch, which then shares a single
// fsync. The first record on an idle log goes to disk at once (a deferred
// one waits up to deferMax for company), so a lone transaction pays one
// fsync and no waiting.
//
// It is not an actor: records that wait in an actor's inbox before they
// join a batch share fewer fsyncs (docs/design.md, "The WAL writer"). Here
// an actor appends under a mutex held only to encode the record into the
// batch (no I/O, no waiting on the disk), and the flusher, one long-lived
// goroutine, does the I/O and answers each waiter with Durable. The shadow is fed
// and snapshotted by the flusher alone, so a checkpoint never holds the
// mutex.
type Writer struct {
	log   *walstore.Log
	stats *Stats
	fatal func(error)
	// Compaction: with a shadow, once compactAt bytes were appended since
	// the last checkpoint, the next batch replaces the log with a snapshot.
	shadow    Shadow
	compactAt int64
	engine    *actor.Engine
	trace     *trace.Ring   // nil: not traced
	metrics   *metrics.Node // fsync latency and records per fsync; nil: off
	disk      diskLog       // checkpoints and slow fsyncs, for the operator (disklog.go)
	applier   Applier       // nil: no engine

	mu         sync.Mutex // guards what follows; held to encode a record, never across I/O
	next       walBatch
	spare      walBatch // the last flushed batch's buffers, reused
	enc        *msgpack.Encoder
	buf        bytes.Buffer
	cur        protocol.Record // the record being encoded: a field, so the caller's copy stays on its stack
	appended   int64
	deferUntil time.Time // when the gathered batch's first deferred waiter stops waiting
	idle       bool      // the flusher waits for work (and wants a wake-up)
	closing    bool
	wake       chan struct{}
	done       chan struct{}
}

// Config is what a Writer needs besides its log.
type Config struct {
	Stats   *Stats
	Metrics *metrics.Node // fsync latency and records per fsync; nil: off
	Fatal   func(error)   // called when the node must stop (a failed write or fsync)
	// Shadow, with CompactAt > 0: once CompactAt bytes were appended since
	// the last checkpoint, the next batch replaces the log with the
	// shadow's snapshot. Nil: the log is never compacted.
	Shadow    Shadow
	CompactAt int64
	Trace     *trace.Ring   // nil: not traced
	Engine    *actor.Engine // delivers Durable to the waiting actors
	// Applier, if set, hears every commit that became durable, and a
	// checkpoint first writes and fsyncs its batch, then has the engine
	// made durable, and only then replaces the log with the shadow's
	// snapshot (engineCheckpoint).
	Applier Applier
	// Logger gets the log's incidents: checkpoints, and fsyncs slower than
	// SlowFsync (0: DefaultSlowFsync). Nil: not logged.
	Logger    *slog.Logger
	SlowFsync time.Duration
}

// DefaultSlowFsync: an fsync this slow holds every commit on the node for
// as long, far beyond a healthy disk's milliseconds.
const DefaultSlowFsync = 500 * time.Millisecond

// Start starts the writer of log; Close stops it.
func Start(log *walstore.Log, cfg Config) *Writer {
	cfg.Stats.LogBytes.Store(log.End())
	w := &Writer{log: log, stats: cfg.Stats, metrics: cfg.Metrics, fatal: cfg.Fatal, shadow: cfg.Shadow, compactAt: cfg.CompactAt, trace: cfg.Trace, engine: cfg.Engine,
		applier: cfg.Applier, disk: newDiskLog(cfg.Logger, cfg.SlowFsync),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.enc = msgpack.NewEncoder(&w.buf)
	go w.flusher()
	return w
}

// Append adds a record to the next batch. It never waits for the disk.
func (w *Writer) Append(m Entry) {
	// The record carries its append time, for traces (a checkpoint keeps it).
	m.Rec.Time = time.Now().UnixNano()
	if m.ReplyTo == nil {
		traceRecord(w.trace, &m.Rec, false, m.Rec.Time)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return // the node is stopping; its actors are gone
	}
	w.buf.Reset()
	w.cur = m.Rec
	err := w.enc.Encode(&w.cur)
	w.cur = protocol.Record{}
	if err != nil {
		w.fatal(fmt.Errorf("encode %v record for %s: %w", m.Rec.Kind, m.Rec.TxID, err))
		return
	}
	b := &w.next
	wasEmpty := b.records == 0
	n := len(b.data)
	b.data = walstore.AppendRecord(b.data, walstore.RecordType(m.Rec.Kind), w.buf.Bytes())
	w.appended += int64(len(b.data) - n)
	b.records++
	b.last = n
	b.seq = max(b.seq, m.Rec.Seq)
	if w.shadow != nil {
		b.recs = append(b.recs, m.Rec)
	}
	if m.ReplyTo != nil {
		b.waiters = append(b.waiters, walWaiter{m.ReplyTo, m.Rec})
		if m.Defer {
			if b.deferred == 0 {
				w.deferUntil = time.Now().Add(deferMax)
			}
			b.deferred++
		}
	}
	// Wake an idle flusher when the batch became due, or when it holds a
	// first deferred record the flusher must time.
	if w.idle && (wasEmpty || !b.onlyDeferred()) {
		w.idle = false
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// onlyDeferred: every waiter may wait for another record's fsync (and
// there is at least one).
func (b *walBatch) onlyDeferred() bool {
	return len(b.waiters) > 0 && b.deferred == len(b.waiters)
}

// Close writes what was gathered and stops the flusher.
func (w *Writer) Close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}

// take waits until a batch is due and hands it over; false once closed and
// empty. A batch is due whenever it holds a record, except one whose only
// waiters are deferred: that waits for a record that needs an fsync, or
// for deferMax. Lazy records (BEGIN, END) are written at once too,
// unsynced: that costs a write, but a kill -9 then keeps them (the page
// cache survives a process crash), so a restarted coordinator still knows
// every transaction it started and aborts it visibly, everywhere.
func (w *Writer) take(timer *time.Timer) (walBatch, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		b := &w.next
		if b.records > 0 && (w.closing || !b.onlyDeferred() || !time.Now().Before(w.deferUntil)) {
			break
		}
		if b.records == 0 && w.closing {
			return walBatch{}, false
		}
		var due <-chan time.Time
		if b.records > 0 {
			timer.Reset(time.Until(w.deferUntil))
			due = timer.C
		}
		w.idle = true
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-due:
		}
		timer.Stop()
		w.mu.Lock()
		w.idle = false
	}
	b := w.next
	w.next = walBatch{data: w.spare.data[:0], recs: w.spare.recs[:0], waiters: w.spare.waiters[:0]}
	w.spare = walBatch{}
	if w.shadow != nil && w.compactAt > 0 && w.appended >= w.compactAt {
		w.appended = 0
		b.checkpoint = true
	}
	return b, true
}

func (w *Writer) flusher() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	unsynced := 0 // records written since the last fsync: the next one makes them durable
	// The highest commit number written and not yet fsynced, and the
	// highest durable (for the Applier).
	var unsyncedSeq, durableSeq uint64
	for {
		b, ok := w.take(timer)
		if !ok {
			return
		}
		// The shadow follows the log in order; a checkpoint snapshots it
		// with this batch applied, so its bytes need not be written.
		if w.shadow != nil {
			for i := range b.recs {
				if err := w.shadow.Apply(b.recs[i]); err != nil {
					w.fatal(fmt.Errorf("wal: record %v for %s does not fit the log: %w", b.recs[i].Kind, b.recs[i].TxID, err))
					return
				}
			}
		}
		var err error
		engineCheckpoint := b.checkpoint && w.applier != nil
		synced := false
		if b.checkpoint && !engineCheckpoint {
			began := w.disk.checkpointBegins(w.log.End())
			var recs []walstore.Record
			if recs, err = w.snapshot(); err == nil {
				err = w.log.Rewrite(recs) // fsyncs the new file and the directory
			}
			w.disk.checkpointEnds(began, len(recs), w.log.End(), err)
			w.stats.Checkpoints.Add(1)
			w.stats.Fsyncs.Add(1)
			unsynced = 0
		} else {
			if len(b.waiters) > 0 {
				crashTorn(w.log, b.data, b.last)
			}
			err = w.log.Write(b.data)
			unsynced += b.records
			unsyncedSeq = max(unsyncedSeq, b.seq)
			if err == nil && (len(b.waiters) > 0 || engineCheckpoint) {
				// Lazy-only batches skip the fsync: they ride on the next one.
				crashpoint.Hit(crashpoint.WALBatchWritten)
				err = w.sync(unsynced)
				w.stats.Fsyncs.Add(1)
				unsynced = 0
				if err == nil {
					synced = true
					durableSeq, unsyncedSeq = max(durableSeq, unsyncedSeq), 0
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
			w.engine.Send(wt.pid, Durable{Rec: wt.rec})
		}
		if w.applier != nil && synced {
			w.applier.Durable(durableSeq)
		}
		if engineCheckpoint {
			if err := w.engineCheckpoint(durableSeq); err != nil {
				w.fatal(fmt.Errorf("wal %s: checkpoint: %w", w.log.Path(), err))
				return
			}
		}
		clear(b.waiters) // drop the PIDs and records for the collector
		clear(b.recs)
		w.mu.Lock()
		w.spare = walBatch{data: b.data[:0], recs: b.recs[:0], waiters: b.waiters[:0]}
		w.mu.Unlock()
	}
}

// engineCheckpoint replaces the log with the shadow's snapshot once the
// engine durably holds every commit the log holds (through seq): the
// batch the checkpoint came with is already written and fsynced, so the
// engine never gets ahead of the log, and the log drops no commit the
// engine could lose. Its steps, each a crash point: the engine durable,
// then the new log (opened by the engine's position, protocol.RecApplied)
// written, fsynced and renamed over the old (walstore.Log.Rewrite).
func (w *Writer) engineCheckpoint(seq uint64) error {
	if err := w.applier.SyncThrough(seq); errors.Is(err, ErrCheckpointLater) {
		return nil
	} else if err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.WALCompactEngineSynced)
	began := w.disk.checkpointBegins(w.log.End())
	recs, err := w.snapshot()
	if err == nil {
		err = w.log.Rewrite(recs) // fsyncs the new file and the directory
	}
	w.disk.checkpointEnds(began, len(recs), w.log.End(), err)
	w.stats.Checkpoints.Add(1)
	w.stats.Fsyncs.Add(1)
	w.stats.LogBytes.Store(w.log.End())
	return err
}

// sync fsyncs the log, times it for the slow-fsync log lines and, with
// metrics on, records how long it took and how many records it made
// durable.
func (w *Writer) sync(records int) error {
	t0 := time.Now()
	err := w.log.Sync()
	took := time.Since(t0)
	w.metrics.Fsync(took, records)
	w.disk.fsynced(took)
	return err
}

// snapshot encodes the shadow's snapshot as log records.
func (w *Writer) snapshot() ([]walstore.Record, error) {
	return EncodeRecords(w.shadow.Snapshot())
}

// EncodeRecords encodes protocol records as log records (a checkpoint's,
// for walstore.Log.Rewrite).
func EncodeRecords(recs []protocol.Record) ([]walstore.Record, error) {
	out := make([]walstore.Record, 0, max(len(recs), 1))
	for _, r := range recs {
		payload, err := msgpack.Marshal(&r)
		if err != nil {
			return nil, fmt.Errorf("encode checkpoint record %v for %s: %w", r.Kind, r.TxID, err)
		}
		out = append(out, walstore.Record{Type: walstore.RecordType(r.Kind), Payload: payload})
	}
	return out, nil
}

// Decode reads a protocol record back from the log, for replay.
func Decode(r walstore.Record) (protocol.Record, error) {
	var rec protocol.Record
	if err := msgpack.Unmarshal(r.Payload, &rec); err != nil {
		return rec, fmt.Errorf("decode record at offset %d: %w", r.Offset, err)
	}
	rec.Kind = protocol.RecKind(r.Type)
	return rec, nil
}
