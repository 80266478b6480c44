// Package walstore is the write-ahead log every txd node keeps on disk.
//
// A Log is a single file of records. Callers encode records into a batch
// with AppendRecord, hand the batch to Write, and call Sync before they
// act on anything the batch promised (a vote, a decision, an ack). Open
// replays every complete record in order and repairs a torn tail left by a
// crash in the middle of a write, after checking that the log is not
// shorter than its control file says it was (see Truncation). Rewrite
// replaces the whole file atomically, which is how a node compacts its log
// after a checkpoint.
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
// written, so a body whose first byte is zero is never valid, and type 255
// is walstore's own: the header record, the first record of every file
// walstore creates, whose payload is "txdwal\x01" and an 8-byte random,
// non-zero generation. Replay does not pass it to the caller, and Write
// rejects both types. A log written before header records existed starts
// with a caller's record; it reads as generation 0. A header
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
// # Truncation
//
// A log cut short (by a careless copy, a restore, a filesystem that lost
// the end of the file) ends in the middle of a record or on a record
// boundary, which replay alone cannot tell from a torn tail: it would cut
// it and forget committed records. So each log has a control file,
// path+".ctl", 48 bytes:
//
//	magic      8 bytes: "txdwalc1"
//	gen        8 bytes: the generation of the log file it describes
//	bound      8 bytes: a logical end that was durable in that file
//	next gen   8 bytes: while a Rewrite is under way, the new file's
//	next bound 8 bytes: generation and length; zero otherwise
//	reserved   4 bytes
//	crc        4 bytes: CRC-32C of the 44 bytes before it
//
// It is always replaced whole: written to path+".ctl.tmp", synced,
// renamed over path+".ctl", and the directory synced. The bound only ever
// holds an end that a Sync had made durable, so no crash can leave the log
// shorter than it. It moves forward:
//
//   - off the commit path, in a background goroutine, at most once per
//     Options.BoundInterval (default 1 s) while Syncs happen: it records
//     the end of the last successful Sync, so Sync pays one uncontended
//     mutex and a non-blocking channel send, never an extra fsync;
//   - at Close, to the end of the last successful Sync;
//   - at Rewrite: before the rename the control file names the new file's
//     generation and length as the next ones, after the directory sync as
//     the only ones. A crash between any two steps leaves a control file
//     that names the file then in place (the old one or the new one).
//
// Open checks the log against the control file before it cuts anything:
//
//   - the file's generation must be the one recorded (or the next one, if
//     a Rewrite was under way), else ErrLogMismatch: an older copy of the
//     log, or another log, is in its place;
//   - its valid records must reach the bound (of that generation), and one
//     must end exactly there, else ErrTruncated (or ErrLogMismatch);
//   - a log that is missing (deleted) while its control file records a
//     bound above 0 is ErrTruncated; Open removes the empty file it
//     created, so the refusal repeats;
//   - a control file that does not parse is ErrControl.
//
// Each error names the log, the control file and the offsets; Open leaves
// both files as they were. Only after the checks does a torn tail after
// the bound get cut, as below. Open then brings the control file up to
// date (dropping a finished or abandoned Rewrite's next generation).
//
// What is not detected: a cut after the last recorded bound. Records
// synced since the bound was last moved (at most BoundInterval before a
// crash, while the log was busy) are indistinguishable from a torn tail and
// are cut like one. A smaller BoundInterval narrows that window, at the
// price of a control file write (two fsyncs, in the background) per
// interval; Close leaves no window. Damage within the bound is caught by
// the record checksums (ErrCorrupt) as before. A log and its control file
// replaced together by an older pair is not detected: that needs a record
// kept somewhere else.
//
// Upgrade and fresh starts: a log without a control file gets one (with a
// warning if the log is not empty), whose bound then follows the next
// Sync; the log keeps generation 0 until its first Rewrite. A new log gets
// its header at once and a control file with bound 0, which also accepts
// a log that lost its header in a crash before the first Sync. To start
// afresh, delete the log and its control file; to accept a log that Open
// refuses, delete the control file (the message says so).
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
// A Log is owned by one goroutine (a node's WAL flusher); callers that
// share one must serialise every call themselves. Its only internal
// goroutine is the one that moves the control file's bound, which Close
// stops.
package walstore
