package kv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The engine's key space: data keys under dataPrefix, the meta record at
// metaKey (see the package doc).
const dataPrefix = 'd'

var metaKey = []byte("m")

func dataKey(k string) []byte {
	b := make([]byte, 1+len(k))
	b[0] = dataPrefix
	copy(b[1:], k)
	return b
}

const (
	metaFormat = 2
	metaLen    = 33
)

// meta is what the store records with every batch.
type meta struct {
	seq   uint64
	stats Stats
}

func (m meta) encode() []byte {
	b := make([]byte, metaLen)
	b[0] = metaFormat
	binary.BigEndian.PutUint64(b[1:], m.seq)
	binary.BigEndian.PutUint64(b[9:], uint64(m.stats.Keys))
	binary.BigEndian.PutUint64(b[17:], uint64(m.stats.ValueBytes))
	binary.BigEndian.PutUint64(b[25:], uint64(m.stats.KeyBytes))
	return b
}

func decodeMeta(b []byte) (meta, error) {
	if len(b) != metaLen || b[0] != metaFormat {
		return meta{}, fmt.Errorf("meta record of %d bytes, format %d: want %d bytes, format %d", len(b), firstByte(b), metaLen, metaFormat)
	}
	return meta{
		seq: binary.BigEndian.Uint64(b[1:]),
		stats: Stats{
			Keys:       int64(binary.BigEndian.Uint64(b[9:])),
			ValueBytes: int64(binary.BigEndian.Uint64(b[17:])),
			KeyBytes:   int64(binary.BigEndian.Uint64(b[25:])),
		},
	}, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// readMeta reads the meta record; a store without one is new and empty.
func (s *Store) readMeta() (meta, error) {
	v, closer, err := s.db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return meta{}, nil
	}
	if err != nil {
		return meta{}, err
	}
	defer closer.Close()
	return decodeMeta(v)
}
