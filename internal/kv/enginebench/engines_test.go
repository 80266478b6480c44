package enginebench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	bolt "go.etcd.io/bbolt"
)

// op is one applied operation: a SET of key to val, or a DEL when del is set.
type op struct {
	key, val []byte
	del      bool
}

// engine is what the participant's store needs from a storage engine: whole
// batches applied with the apply sequence and exact counters in the same
// atomic write, an explicit make-durable step, point reads, prefix scans and
// an engine-provided size estimate.
type engine interface {
	apply(seq uint64, ops []op, counted bool) error
	sync() error
	get(k []byte) (bool, error)
	scan(prefix []byte, limit int) (int, error)
	estimate() (keys, bytes uint64, err error)
	close() error
}

// counters are the maintained figures a status summary reports.
type counters struct{ keys, bytes int64 }

func (c counters) meta(seq uint64) []byte {
	b := make([]byte, 24)
	binary.BigEndian.PutUint64(b, seq)
	binary.BigEndian.PutUint64(b[8:], uint64(c.keys))
	binary.BigEndian.PutUint64(b[16:], uint64(c.bytes))
	return b
}

// account updates c for a write of o over a previous value of size old
// (-1 when the key was absent).
func (c *counters) account(o op, old int) {
	if old >= 0 {
		c.keys--
		c.bytes -= int64(old)
	}
	if !o.del {
		c.keys++
		c.bytes += int64(len(o.val))
	}
}

var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	metaKey    = []byte("applied")
)

// boltEngine keeps the keys in one bucket and the meta record in another.
type boltEngine struct {
	db *bolt.DB
	c  counters
}

func openBolt(path string) (engine, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	e := &boltEngine{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(dataBucket); err != nil {
			return err
		}
		m, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if v := m.Get(metaKey); len(v) == 24 {
			e.c.keys = int64(binary.BigEndian.Uint64(v[8:]))
			e.c.bytes = int64(binary.BigEndian.Uint64(v[16:]))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return e, nil
}

func (e *boltEngine) apply(seq uint64, ops []op, counted bool) error {
	c := e.c
	err := e.db.Update(func(tx *bolt.Tx) error {
		d := tx.Bucket(dataBucket)
		for _, o := range ops {
			if counted {
				old := -1
				if v := d.Get(o.key); v != nil {
					old = len(v)
				}
				c.account(o, old)
			}
			var err error
			if o.del {
				err = d.Delete(o.key)
			} else {
				err = d.Put(o.key, o.val)
			}
			if err != nil {
				return err
			}
		}
		return tx.Bucket(metaBucket).Put(metaKey, c.meta(seq))
	})
	if err == nil {
		e.c = c
	}
	return err
}

func (e *boltEngine) sync() error { return e.db.Sync() }

func (e *boltEngine) get(k []byte) (found bool, err error) {
	err = e.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(dataBucket).Get(k) != nil
		return nil
	})
	return found, err
}

func (e *boltEngine) scan(prefix []byte, limit int) (n int, err error) {
	err = e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(dataBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n < limit; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// estimate is bbolt's own count: Bucket.Stats walks every page of the tree.
func (e *boltEngine) estimate() (keys, size uint64, err error) {
	err = e.db.View(func(tx *bolt.Tx) error {
		s := tx.Bucket(dataBucket).Stats()
		keys = uint64(s.KeyN)
		size = uint64(s.LeafInuse)
		return nil
	})
	return keys, size, err
}

func (e *boltEngine) close() error { return e.db.Close() }

// pebbleEngine keeps the keys under 'd' and the meta record at "m".
type pebbleEngine struct {
	db    *pebble.DB
	cache interface{ Unref() }
	c     counters
	old   map[string]int
}

var pebbleMeta = []byte("m")

func openPebble(dir string) (engine, error) {
	cache := pebble.NewCache(int64(envInt("TXD_KV_PEBBLE_CACHE_MIB", 32)) << 20)
	opts := &pebble.Options{
		DisableWAL:   true,
		Cache:        cache,
		MemTableSize: 16 << 20,
		Logger:       quiet{},
	}
	// Bloom filters on every level (later levels inherit L0's) unless
	// TXD_KV_PEBBLE_BLOOM=0: they spare reads of absent keys, and cost a
	// filter block read when a present key's table misses the cache.
	if os.Getenv("TXD_KV_PEBBLE_BLOOM") != "0" {
		opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		cache.Unref()
		return nil, err
	}
	e := &pebbleEngine{db: db, cache: cache, old: map[string]int{}}
	v, closer, err := db.Get(pebbleMeta)
	switch {
	case err == nil:
		if len(v) == 24 {
			e.c.keys = int64(binary.BigEndian.Uint64(v[8:]))
			e.c.bytes = int64(binary.BigEndian.Uint64(v[16:]))
		}
		closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		e.close()
		return nil, err
	}
	return e, nil
}

func dkey(k []byte) []byte { return append([]byte{'d'}, k...) }

func (e *pebbleEngine) apply(seq uint64, ops []op, counted bool) error {
	b := e.db.NewBatch()
	defer b.Close()
	c := e.c
	clear(e.old)
	for _, o := range ops {
		k := dkey(o.key)
		if counted {
			old, ok := e.old[string(k)]
			if !ok {
				old = -1
				v, closer, err := e.db.Get(k)
				switch {
				case err == nil:
					old = len(v)
					closer.Close()
				case !errors.Is(err, pebble.ErrNotFound):
					return err
				}
			}
			c.account(o, old)
			if o.del {
				e.old[string(k)] = -1
			} else {
				e.old[string(k)] = len(o.val)
			}
		}
		var err error
		if o.del {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, o.val, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := b.Set(pebbleMeta, c.meta(seq), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	e.c = c
	return nil
}

func (e *pebbleEngine) sync() error { return e.db.Flush() }

func (e *pebbleEngine) get(k []byte) (bool, error) {
	_, closer, err := e.db.Get(dkey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

func (e *pebbleEngine) scan(prefix []byte, limit int) (int, error) {
	lo := dkey(prefix)
	hi := append(bytes.Clone(lo), 0xff)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok && n < limit; ok = it.Next() {
		_ = it.Value()
		n++
	}
	return n, it.Close()
}

// estimate is pebble's own figure: the disk usage of the key range. Pebble
// keeps no count of live keys, so keys is 0.
func (e *pebbleEngine) estimate() (keys, size uint64, err error) {
	size, err = e.db.EstimateDiskUsage([]byte("d"), []byte("e"))
	return 0, size, err
}

func (e *pebbleEngine) close() error {
	err := e.db.Close()
	e.cache.Unref()
	return err
}

// quiet drops pebble's informational log lines; fatal ones still stop.
type quiet struct{}

func (quiet) Infof(string, ...any)      {}
func (quiet) Errorf(f string, a ...any) { fmt.Printf(f+"\n", a...) }
func (quiet) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
