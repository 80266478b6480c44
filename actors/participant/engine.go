package participant

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/internal/kv"
	"github.com/txd/txd/wire"
)

// engineStore is the participant's protocol.Store on the storage engine
// (internal/kv). The state machine's Commit never touches the disk: the
// writes go to an in-memory overlay and a queue, and the applier goroutine
// writes them to the engine once the log says their COMMIT is durable
// (Durable), in sequence order, several commits to one engine batch. Get
// and Scan read the overlay first, then the engine, so they see every
// commit at once. A checkpoint (SyncThrough) waits for the applier and
// makes the engine durable before the log drops its commits.
//
// The engine never holds a commit the log could lose: applied only once
// durable in the log, a commit is in the engine's sequence only when its
// record survives a crash. The overlay holds only the commits of the last
// few batches (plus, just after start, those replayed).
type engineStore struct {
	kv    *kv.Store
	dir   string
	base  uint64 // the engine's sequence when it was opened
	fatal func(error)

	kick    chan struct{} // wakes the applier (capacity 1)
	stopped chan struct{}

	mu       sync.Mutex
	cond     *sync.Cond         // signalled when applied, applyErr or stopping change
	overlay  map[string]overlay // committed writes not yet in the engine, by key
	queue    []queued           // those commits, by sequence
	durable  uint64             // the last commit the log holds durably
	applied  uint64             // the last commit in the engine
	wanted   uint64             // a checkpoint waits for the commits up to this one
	closing  bool
	stopping bool // the node is stopping: SyncThrough waits only for the applier
	applyErr error
}

// The applier writes durable commits once applyBatch of them are ready, or
// applyDelay after the first was, whichever comes first (at once for a
// checkpoint or a close). At a few commits per fsync it thus runs once per
// several transactions, not in the middle of each one's commit path; at
// many, it keeps up batch by batch.
const (
	applyBatch = 64
	applyDelay = 5 * time.Millisecond
)

// overlay is a key's latest committed write not yet in the engine.
type overlay struct {
	value string
	del   bool
	seq   uint64
}

type queued struct {
	seq    uint64
	writes []wire.Op
}

// openEngine opens (or creates) the engine in dir and starts its applier.
func openEngine(dir string, fatal func(error), logf func(string, ...any)) (*engineStore, error) {
	db, err := kv.Open(dir, kv.Options{Logf: logf})
	if err != nil {
		return nil, err
	}
	seq := db.Seq()
	s := &engineStore{kv: db, dir: dir, base: seq, fatal: fatal, overlay: map[string]overlay{},
		durable: seq, applied: seq, kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s, nil
}

func (s *engineStore) Seq() uint64 { return s.base }

// Size is the engine's: commits still in the overlay are counted once
// applied (a few milliseconds later).
func (s *engineStore) Size() protocol.StoreSize {
	st := s.kv.Stats()
	return protocol.StoreSize{Keys: int(st.Keys), KeyBytes: int(st.KeyBytes), ValueBytes: int(st.ValueBytes)}
}

func (s *engineStore) Get(key string) (string, bool, error) {
	s.mu.Lock()
	o, ok := s.overlay[key]
	s.mu.Unlock()
	if ok {
		return o.value, !o.del, nil
	}
	// Not in the overlay: every commit of key is in the engine already
	// (the applier writes the engine before it drops the overlay's entry).
	return s.kv.Get(key)
}

func (s *engineStore) Commit(seq uint64, writes []wire.Op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		if o, ok := s.overlay[w.Key]; !ok || o.seq <= seq {
			s.overlay[w.Key] = overlay{value: w.Value, del: w.Kind == wire.OpDel, seq: seq}
		}
	}
	q := queued{seq: seq, writes: writes}
	// Commits arrive in sequence order but for an operator's heuristic
	// COMMIT, numbered when logged and applied when durable.
	i := len(s.queue)
	for i > 0 && s.queue[i-1].seq > seq {
		i--
	}
	s.queue = slices.Insert(s.queue, i, q)
	if seq <= s.durable {
		// Already durable (an operator's COMMIT, applied once its record
		// is): the applier may go on. Otherwise Durable wakes it, and a
		// wake-up now would find nothing to do.
		s.wake()
	}
}

// wake wakes the applier, if it is not awake already.
func (s *engineStore) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Durable says the log holds the commits up to seq durably.
func (s *engineStore) Durable(seq uint64) {
	s.mu.Lock()
	if seq > s.durable {
		s.durable = seq
		if s.ready() > 0 {
			s.wake()
		}
	}
	s.mu.Unlock()
}

// replayed marks every commit replayed from the log as durable (the log
// was synced after replay) and returns the last one.
func (s *engineStore) replayed() uint64 {
	s.mu.Lock()
	last := s.applied
	if n := len(s.queue); n > 0 {
		last = s.queue[n-1].seq
	}
	s.mu.Unlock()
	s.Durable(last)
	return last
}

// SyncThrough waits until the engine holds the commits up to seq, then
// makes it durable: the log may then drop them.
func (s *engineStore) SyncThrough(seq uint64) error {
	s.mu.Lock()
	s.wanted = max(s.wanted, seq)
	s.wake()
	for s.applied < seq && s.applyErr == nil && !(s.stopping && s.ready() == 0) {
		s.cond.Wait()
	}
	err, applied := s.applyErr, s.applied
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if applied < seq {
		// A commit numbered before the last durable one waits for the
		// actor (an operator's COMMIT, applied once its record is
		// durable), which is stopping.
		return walwriter.ErrCheckpointLater
	}
	_, err = s.kv.Sync()
	return err
}

// run is the applier: it writes durable commits to the engine in sequence
// order, each run of them in one batch.
func (s *engineStore) run() {
	defer close(s.stopped)
	var ops []kv.Op
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due time.Time // when the commits ready now must be written; zero: none is
	for {
		s.mu.Lock()
		n := s.ready()
		urgent := n >= applyBatch || s.wanted > s.applied || s.closing || s.stopping
		closing := s.closing
		s.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			due = time.Time{}
			<-s.kick
			continue
		}
		if !urgent {
			if due.IsZero() {
				due = time.Now().Add(applyDelay)
			}
			if d := time.Until(due); d > 0 {
				timer.Reset(d)
				select {
				case <-s.kick:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
		}
		due = time.Time{}
		if !s.apply(&ops) {
			return
		}
	}
}

// apply writes the commits ready now in one engine batch; false if the
// engine failed (the node is then stopped).
func (s *engineStore) apply(ops *[]kv.Op) bool {
	s.mu.Lock()
	n := s.ready()
	batch := s.queue[:n]
	s.mu.Unlock()

	*ops = (*ops)[:0]
	for _, q := range batch {
		for _, w := range q.writes {
			*ops = append(*ops, kv.Op{Key: w.Key, Value: w.Value, Del: w.Kind == wire.OpDel})
		}
	}
	last := batch[n-1].seq
	err := s.kv.Apply(last, *ops)

	s.mu.Lock()
	if err != nil {
		s.applyErr = fmt.Errorf("engine %s: apply commits up to %d: %w", s.dir, last, err)
		s.cond.Broadcast()
		s.mu.Unlock()
		s.fatal(s.applyErr)
		return false
	}
	defer s.mu.Unlock()
	s.applied = last
	for _, q := range batch {
		for _, w := range q.writes {
			if o, ok := s.overlay[w.Key]; ok && o.seq <= last {
				delete(s.overlay, w.Key)
			}
		}
	}
	clear(s.queue[:n]) // drop the writes for the collector
	s.queue = s.queue[n:]
	s.cond.Broadcast()
	return true
}

// ready is how many queued commits the applier may write now: the run
// that follows the engine's sequence without a gap and is durable.
func (s *engineStore) ready() int {
	n, next := 0, s.applied+1
	for n < len(s.queue) && s.queue[n].seq == next && next <= s.durable {
		n++
		next++
	}
	return n
}

// stop tells SyncThrough to wait for the applier only: the node is
// stopping, and its actor may never hand over a commit the applier waits
// for.
func (s *engineStore) stop() {
	s.mu.Lock()
	s.stopping = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.wake()
}

// Close applies what is durable, makes the engine durable and closes it.
func (s *engineStore) Close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.wake()
	<-s.stopped
	_, err := s.kv.Sync()
	if cerr := s.kv.Close(); err == nil {
		err = cerr
	}
	return err
}

// Scan merges the overlay into a page of the engine's keys.
func (s *engineStore) Scan(prefix, after string, limit int) ([]wire.Entry, bool, error) {
	s.mu.Lock()
	mine, over := overlayRange(s.overlay, prefix, after)
	s.mu.Unlock()
	return mergeScan(mine, over, limit, func(n int) ([]kv.KV, bool, error) { return s.kv.Scan(prefix, after, n) })
}

// overlayRange copies the overlay's entries for keys that start with
// prefix and sort after after, and lists those keys in order.
func overlayRange(all map[string]overlay, prefix, after string) ([]string, map[string]overlay) {
	var mine []string
	for k := range all {
		if k > after && strings.HasPrefix(k, prefix) {
			mine = append(mine, k)
		}
	}
	over := make(map[string]overlay, len(mine))
	for _, k := range mine {
		over[k] = all[k]
	}
	slices.Sort(mine)
	return mine, over
}

// mergeScan merges the overlay's keys in a scan's range (mine, sorted, and
// their entries) into a page of the engine's, read by engineScan, and
// returns at most limit entries and whether more follow.
func mergeScan(mine []string, over map[string]overlay, limit int, engineScan func(n int) ([]kv.KV, bool, error)) ([]wire.Entry, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	// Every overlay key may hide an engine key: ask for that many more,
	// so the page still holds limit+1 keys to tell whether more follow.
	page, engineMore, err := engineScan(min(limit+1+len(mine), kv.MaxScanLimit))
	if err != nil {
		return nil, false, err
	}
	if engineMore && len(page) > 0 {
		// Past the engine's page the keys are unknown: its overlay keys
		// wait for the next page.
		mine = mine[:sort.SearchStrings(mine, page[len(page)-1].Key+"\x00")]
	}
	out := make([]wire.Entry, 0, min(limit+1, len(page)+len(mine)))
	i, j := 0, 0
	for (i < len(page) || j < len(mine)) && len(out) <= limit {
		if j == len(mine) || i < len(page) && page[i].Key < mine[j] {
			out = append(out, wire.Entry{Key: page[i].Key, Value: page[i].Value})
			i++
			continue
		}
		k := mine[j]
		j++
		if i < len(page) && page[i].Key == k {
			i++ // replaced or deleted by the overlay
		}
		if o := over[k]; !o.del {
			out = append(out, wire.Entry{Key: k, Value: o.value})
		}
	}
	more := len(out) > limit || engineMore
	return out[:min(len(out), limit)], more, nil
}
