// Package walstore is the write-ahead log every txd node keeps on disk.
//
// A Log is a single file of records. Callers encode records into a batch
// with AppendRecord, hand the batch to Write, and call Sync before they
// act on anything the batch promised (a vote, a decision, an ack). Open
// replays every complete record in order and repairs a torn tail left by a
// crash in the middle of a write. Rewrite replaces the whole file
// atomically, which is how a node compacts its log after a checkpoint.
//
// # On-disk format
//
// The file is a sequence of records with nothing before, between or after
// them except zero bytes. Each record is
//
//	length  4 bytes, big-endian: N, the number of bytes in the body
//	crc     4 bytes, big-endian: CRC-32C (Castagnoli) of the body
//	body    N bytes: one record type byte, then N-1 bytes of payload
//
// The record type is opaque to walstore except that type 0 is never
// written, so a body whose first byte is zero is never valid. A header
// whose length is zero marks the end of the log: the file is grown in
// zero-filled chunks (Options.PreallocChunk) ahead of the data, and the
// unwritten remainder of the last chunk reads as length 0.
//
// # Replay
//
// A record at offset off is valid if N > 0, N-1 <= Options.MaxRecord, the
// whole body lies within the file, the CRC matches, and the type byte is
// not zero. The length is checked against MaxRecord and against the bytes
// left in the file before any buffer is sized from it, so a damaged length
// claiming gigabytes costs nothing.
//
// Replay stops at the first offset where no valid record starts. If every
// byte from there to the end of the file is zero, that offset is simply
// the end of the log. Otherwise the bytes there are one of two things:
//
//   - A torn tail: no valid record starts at any later offset. A crash cut
//     the last write short (or the disk wrote its sectors out of order).
//     The data was never acknowledged as durable, because Sync had not
//     returned, so it is cut off: the bytes from the offset up to the last
//     non-zero byte in the file are first copied to path+".torn-<offset>"
//     (with a numeric suffix if an earlier copy for that offset exists),
//     then overwritten with zeros in the log, both files are synced, and a
//     warning names the file, offset and count.
//   - Corruption: a valid record starts somewhere later, so committed
//     history was damaged. Open fails with an error wrapping ErrCorrupt
//     that names the file and offset, and leaves the file untouched.
//     Skipping the damaged record would silently forget a decision that
//     other nodes may already rely on.
//
// # Durability
//
// Write places a batch at the logical end with a positioned write; it is
// not durable until Sync returns. Sync uses fdatasync, except that after
// the file has grown it uses fsync so the new size is durable too. A
// failed write or sync poisons the Log: every later call returns the same
// error, because after a failed fsync the kernel may have dropped the
// dirty pages, and a retry that succeeds would claim durability for data
// that is gone. The only recovery is to close the Log and Open it again,
// which replays what actually reached the disk.
//
// Open takes an exclusive, non-blocking flock on the file so that two
// processes never append to the same log.
//
// # Concurrency
//
// A Log is owned by one goroutine (a node's WAL flusher) and has no internal
// locking; callers that share one must serialise every call themselves.
package walstore
