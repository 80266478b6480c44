// Package kv is a participant's applied key-value store on an embedded
// storage engine (Pebble), etcd-style: the write-ahead log stays the source
// of truth, and the store holds the keys the log's committed transactions
// applied plus the apply sequence number they include.
//
// # Use
//
// The owner applies each group of committed operations with Apply under a
// strictly increasing sequence number (the log position they come from);
// Apply writes them and the sequence in one atomic engine batch, without
// forcing it to disk. A checkpoint calls Sync, which makes everything
// applied durable and returns its sequence D; the log before D may then be
// dropped. At start-up, Open reads the stored sequence S (S ≥ the last D)
// and the owner replays only the log's operations after S.
//
// Get, Scan and Stats may run concurrently with Apply and Sync; Apply calls
// are serialised.
//
// # On-disk layout
//
// One Pebble directory, with Pebble's own write-ahead log disabled:
//
//	"d" + key  the value of key (keys are arbitrary bytes, values as given)
//	"m"        the meta record, 33 bytes: a format byte (2), then the apply
//	           sequence, the number of keys, the total value bytes and the
//	           total key bytes, each a big-endian uint64
//
// Data keys sort after "d" and before "e", so a scan never meets the meta
// record. The meta record is written in the same batch as the operations it
// accounts for.
//
// # Crash contract
//
// After a crash (the process dies, or the machine loses what it had not
// synced), Open finds the store exactly as it was after one Apply: the one
// whose sequence the meta record holds, which is at least Durable() as it
// was before the crash (Pebble may also flush on its own, so it can be
// later). It never shows part of a batch, and the key and byte counts match
// the data. Close does not make anything durable: call Sync first.
//
// # Limits
//
// A key is 1 to MaxKeyLen bytes, a value at most MaxValueLen bytes; Apply
// refuses a batch that breaks either, whole, with an error.
package kv
