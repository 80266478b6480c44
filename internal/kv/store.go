package kv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Limits on what Apply accepts.
const (
	MaxKeyLen   = 1 << 10
	MaxValueLen = 1 << 20
)

// Op is one applied operation: a SET of Key to Value, or a DEL of Key when
// Del is set (Value is then ignored).
type Op struct {
	Key   string
	Value string
	Del   bool
}

// Options tunes a Store; the zero value is usable.
type Options struct {
	// CacheBytes is the engine's block cache (default 64 MiB). It is
	// allocated outside the Go heap when cgo is on.
	CacheBytes int64
	// MemTableBytes is the size of one memtable, the unit the engine buffers
	// writes in before they reach its files (default 16 MiB; up to two are
	// held while one is being written out).
	MemTableBytes uint64
	// Logf receives the engine's error reports (default log.Printf).
	Logf func(format string, args ...any)

	// fs replaces the disk in tests (a crashable in-memory file system).
	fs vfs.FS
}

// Stats are the store's exact figures.
type Stats struct {
	Keys       int64
	KeyBytes   int64
	ValueBytes int64
}

// ErrLocked is returned by Open when another Store, in this process or
// another, has the directory open.
var ErrLocked = errors.New("kv: store is locked by another process")

// lockHeld reports whether Pebble refused to open because another open
// holds the directory's lock: flock says EAGAIN across processes, and
// Pebble refuses a second open in its own process with a plain error.
func lockHeld(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held by current process")
}

// ErrClosed is returned by every call on a closed Store.
var ErrClosed = errors.New("kv: store is closed")

// Store is a participant's applied key-value store. See the package doc for
// its on-disk layout and crash contract.
type Store struct {
	db    *pebble.DB
	cache interface{ Unref() }

	// life is held shared by every call for its duration and exclusively
	// by Close, so the engine is never used once closed.
	life   sync.RWMutex
	closed bool

	applyMu sync.Mutex     // serialises Apply
	seen    map[string]int // Apply's scratch: value size per key already in the batch, -1 when deleted

	syncMu sync.Mutex // serialises Sync

	mu      sync.Mutex // guards the fields below
	seq     uint64
	durable uint64
	stats   Stats
}

// Open opens the store in dir, creating it if it does not exist.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.MemTableBytes == 0 {
		opts.MemTableBytes = 16 << 20
	}
	cache := pebble.NewCache(opts.CacheBytes)
	po := &pebble.Options{
		DisableWAL:   true,
		Cache:        cache,
		MemTableSize: opts.MemTableBytes,
		Logger:       logger{opts.Logf},
		FS:           opts.fs,
	}
	// Bloom filters on every level but the last (L1-L5 inherit L0's): they
	// spare a new key's read of the levels above, while the last level,
	// which holds most keys, needs no filter block for a key that is there.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	po.Levels[len(po.Levels)-1].FilterPolicy = pebble.NoFilterPolicy
	db, err := pebble.Open(dir, po)
	if err != nil {
		cache.Unref()
		if lockHeld(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("kv: open %s: %w", dir, err)
	}
	s := &Store{db: db, cache: cache, seen: map[string]int{}}
	m, err := s.readMeta()
	if err != nil {
		db.Close()
		cache.Unref()
		return nil, fmt.Errorf("kv: open %s: %w", dir, err)
	}
	s.seq, s.durable, s.stats = m.seq, m.seq, m.stats
	return s, nil
}

// Seq is the sequence of the last batch applied.
func (s *Store) Seq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Durable is the sequence of the last batch known to be on disk: the last
// Sync's, or the one Open found.
func (s *Store) Durable() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable
}

// Stats are the number of keys and the bytes of their values, as of Seq.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Apply writes ops, in order, and seq as the store's sequence, in one atomic
// batch that is not forced to disk. seq must be above Seq(). A batch with an
// invalid op is refused whole.
func (s *Store) Apply(seq uint64, ops []Op) error {
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return fmt.Errorf("kv: op %d: %w", i, err)
		}
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.life.RUnlock()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	cur, stats := s.seq, s.stats
	s.mu.Unlock()
	if seq <= cur {
		return fmt.Errorf("kv: apply sequence %d is not above the store's %d", seq, cur)
	}
	b := s.db.NewBatch()
	defer b.Close()
	clear(s.seen)
	for _, op := range ops {
		k := dataKey(op.Key)
		old, ok := s.seen[op.Key]
		if !ok {
			var err error
			if old, err = s.valueLen(k); err != nil {
				return fmt.Errorf("kv: apply: %w", err)
			}
		}
		if old >= 0 {
			stats.Keys--
			stats.KeyBytes -= int64(len(op.Key))
			stats.ValueBytes -= int64(old)
		}
		var err error
		if op.Del {
			s.seen[op.Key] = -1
			err = b.Delete(k, nil)
		} else {
			s.seen[op.Key] = len(op.Value)
			stats.Keys++
			stats.KeyBytes += int64(len(op.Key))
			stats.ValueBytes += int64(len(op.Value))
			err = b.Set(k, []byte(op.Value), nil)
		}
		if err != nil {
			return fmt.Errorf("kv: apply: %w", err)
		}
	}
	if err := b.Set(metaKey, meta{seq: seq, stats: stats}.encode(), nil); err != nil {
		return fmt.Errorf("kv: apply: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("kv: apply: %w", err)
	}
	s.mu.Lock()
	s.seq, s.stats = seq, stats
	s.mu.Unlock()
	return nil
}

func checkOp(op Op) error {
	switch {
	case op.Key == "":
		return errors.New("empty key")
	case len(op.Key) > MaxKeyLen:
		return fmt.Errorf("key of %d bytes is longer than %d", len(op.Key), MaxKeyLen)
	case !op.Del && len(op.Value) > MaxValueLen:
		return fmt.Errorf("value of %d bytes for key %.40q is longer than %d", len(op.Value), op.Key, MaxValueLen)
	}
	return nil
}

// valueLen is the length of k's stored value, or -1 when k is absent.
func (s *Store) valueLen(k []byte) (int, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	n := len(v)
	return n, closer.Close()
}

// Sync makes every batch applied so far durable and returns the sequence of
// the last one.
func (s *Store) Sync() (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.life.RUnlock()
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	seq := s.Seq()
	// Flush writes out every memtable holding batches committed before it
	// was called, which includes the batch of seq.
	if err := s.db.Flush(); err != nil {
		return 0, fmt.Errorf("kv: sync: %w", err)
	}
	s.mu.Lock()
	s.durable = max(s.durable, seq)
	s.mu.Unlock()
	return seq, nil
}

// Close releases the store without making anything durable: batches applied
// after the last Sync may be lost (as in a crash). Call Sync first to keep
// them.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	err := s.db.Close()
	s.cache.Unref()
	if err != nil {
		return fmt.Errorf("kv: close: %w", err)
	}
	return nil
}

// enter takes life shared, or reports ErrClosed (without holding it).
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}
