package walstore

import "errors"

// Errors returned by this package are wrapped with the file (and, where it
// means something, the offset), so test for them with errors.Is.
var (
	// ErrCorrupt means a record before the tail of the log is damaged.
	ErrCorrupt = errors.New("walstore: corrupt record")
	// ErrLocked means another open Log (in this or another process)
	// holds the file's lock.
	ErrLocked = errors.New("walstore: log is locked by another process")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("walstore: log closed")
	// ErrTooLarge means a record's payload exceeds Options.MaxRecord.
	ErrTooLarge = errors.New("walstore: record too large")
	// ErrTruncated means the log ends before the offset its control file
	// records as durable: records that were synced are gone (the file was
	// cut, or deleted and created anew).
	ErrTruncated = errors.New("walstore: log truncated")
	// ErrLogMismatch means the log file is not the one its control file
	// describes: another generation (an older copy, another node's log).
	ErrLogMismatch = errors.New("walstore: log does not match its control file")
	// ErrControl means the control file beside the log is damaged.
	ErrControl = errors.New("walstore: control file damaged")

	// errBadBatch means a batch passed to Write was not produced by
	// AppendRecord, or carries record type 0. It is a programming error,
	// so it is not exported for callers to handle.
	errBadBatch = errors.New("walstore: malformed batch")
)
