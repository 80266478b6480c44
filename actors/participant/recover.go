package participant

import (
	"errors"
	"fmt"
	"os"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/internal/kv"
	"github.com/txd/txd/walstore"
)

// recovered is a participant's state rebuilt at start: its storage engine,
// its log, the state machine over both and the log's model for
// checkpoints.
type recovered struct {
	store  *engineStore
	log    *walstore.Log
	info   walstore.ReplayInfo
	fsm    *protocol.Participant
	shadow participantShadow
	// prepared: when each transaction still in doubt wrote its PREPARED
	// record, for the in-doubt log lines (doubts.go).
	prepared preparedTimes
	// rebuilt: the engine did not exist and the log did, so the engine
	// holds what the log replayed (the log was never checkpointed, or
	// ErrUnpaired would have refused it).
	rebuilt bool
}

func (r *recovered) close() {
	r.log.Close()
	r.store.Close()
}

// recoverState opens the engine and replays the log after the engine's
// position. A log written before the engine existed (STORE records,
// unnumbered commits) is loaded into an empty engine and rewritten at once
// without them; if the engine already holds data then, it holds an
// interrupted load of the same log, and is emptied and loaded again.
func recoverState(cfg Config, tr *trace.Ring) (*recovered, error) {
	r, legacy, err := replayOver(cfg, tr)
	if errors.Is(err, protocol.ErrLegacyOverStore) {
		cfg.Logger.Warn("the storage engine holds an interrupted conversion of the log: emptying it and converting again", "kv", cfg.KV, "wal", cfg.WAL)
		if err := os.RemoveAll(cfg.KV); err != nil {
			return nil, fmt.Errorf("empty storage engine %s: %w", cfg.KV, err)
		}
		r, legacy, err = replayOver(cfg, tr)
	}
	if err != nil {
		return nil, err
	}
	// Replay may have read records written but not yet fsynced: make them
	// durable before the engine may take their commits.
	if err := r.log.Sync(); err != nil {
		r.close()
		return nil, err
	}
	last := r.store.replayed()
	if legacy {
		if err := r.convert(last); err != nil {
			r.close()
			return nil, fmt.Errorf("convert the log %s to the storage engine %s: %w", cfg.WAL, cfg.KV, err)
		}
		cfg.Logger.Info("converted the log: its store is in the storage engine now", "wal", cfg.WAL, "kv", cfg.KV,
			"keys", r.store.Size().Keys, "seq", last)
	} else if r.rebuilt && last > 0 {
		cfg.Logger.Warn("the storage engine did not exist: rebuilding it from the log, which was never checkpointed and holds every commit",
			"kv", cfg.KV, "wal", cfg.WAL, "seq", last)
	}
	return r, nil
}

// replayOver opens the engine and the log and replays the log over the
// engine; legacy says the log holds records from before the engine.
func replayOver(cfg Config, tr *trace.Ring) (*recovered, bool, error) {
	d, err := lookOnDisk(cfg)
	if err != nil {
		return nil, false, err
	}
	r, legacy, err := replayFound(cfg, d, tr)
	if err != nil && !d.kv && !errors.Is(err, walstore.ErrLocked) {
		// Leave the directory as it was: an empty engine left behind
		// would hide that the engine was missing.
		os.RemoveAll(cfg.KV)
	}
	return r, legacy, err
}

// replayFound is replayOver with d, which of the log and the engine exist.
func replayFound(cfg Config, d onDisk, tr *trace.Ring) (*recovered, bool, error) {
	store, err := openEngine(cfg.KV, cfg.Fatal, func(format string, args ...any) {
		cfg.Logger.Error(fmt.Sprintf(format, args...))
	})
	if errors.Is(err, kv.ErrLocked) {
		// The engine is opened before the log: say what the log's own
		// lock would have said.
		return nil, false, fmt.Errorf("%w: storage engine %s of file %s", walstore.ErrLocked, cfg.KV, cfg.WAL)
	}
	if err != nil {
		return nil, false, err
	}
	if size := store.Size(); !d.wal && (store.base > 0 || size.Keys > 0) {
		store.Close()
		return nil, false, logMissing(cfg, store.base, size.Keys)
	}
	pcfg := protocol.ParticipantConfig{NodeID: cfg.NodeID, Timeout: cfg.Timeout, Store: store}
	fsm := protocol.NewParticipant(pcfg)
	pcfg.Store = protocol.NoStore{}
	shadow := participantShadow{p: protocol.NewParticipant(pcfg), store: store}
	legacy := false
	prepared := preparedTimes{}
	wlog, info, err := walstore.Open(cfg.WAL, walstore.Options{NoSync: cfg.NoSync, Logger: cfg.Logger, SyncFunc: cfg.SyncFunc, AfterRewriteStep: walwriter.RewriteCrashHook(), BoundInterval: cfg.WALBoundInterval}, func(r walstore.Record) error {
		rec, err := walwriter.Decode(r)
		if err != nil {
			return err
		}
		switch {
		case rec.Kind == protocol.RecApplied:
			if rec.Seq > store.base {
				return engineBehind(cfg, d, rec.Seq, store.base)
			}
			return nil
		case rec.Kind == protocol.RecStore,
			rec.Seq == 0 && (rec.Kind == protocol.RecCommit || rec.Kind == protocol.RecHeuristic && rec.Commit):
			legacy = true
		}
		walwriter.TraceReplayed(tr, rec, false)
		prepared.replayed(rec)
		if err := shadow.Apply(rec); err != nil {
			return err
		}
		return fsm.Replay(rec)
	})
	if err != nil {
		store.Close()
		return nil, false, err
	}
	return &recovered{store: store, log: wlog, info: info, fsm: fsm, shadow: shadow, prepared: prepared, rebuilt: d.wal && !d.kv}, legacy, nil
}

// convert makes the engine durable with every commit replayed (through
// last) and rewrites the log without what the engine now holds.
func (r *recovered) convert(last uint64) error {
	if err := r.store.SyncThrough(last); err != nil {
		return err
	}
	recs, err := walwriter.EncodeRecords(r.shadow.Snapshot())
	if err != nil {
		return err
	}
	return r.log.Rewrite(recs)
}

// participantShadow is the log's model for checkpoints (walwriter.Shadow):
// a second, replay-only Participant over no data. Its snapshot opens with
// the engine's durable position (protocol.RecApplied): the writer makes
// the engine durable just before it takes the snapshot.
type participantShadow struct {
	p     *protocol.Participant
	store *engineStore
}

func (s participantShadow) Apply(r protocol.Record) error { return s.p.Replay(r) }
func (s participantShadow) Snapshot() []protocol.Record {
	mark := protocol.Record{Kind: protocol.RecApplied, Seq: s.store.kv.Durable()}
	return append([]protocol.Record{mark}, s.p.Snapshot()...)
}
