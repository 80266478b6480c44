package walstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Log is an open write-ahead log. It is not safe for concurrent use: one
// goroutine owns it (see the package documentation).
type Log struct {
	path string
	opts Options
	f    *os.File

	end  int64  // logical end: where the next record goes
	size int64  // file size, including the zero-filled preallocated tail
	gen  uint64 // the generation in the file's header record; 0: a log from before headers

	// The control file (control.go, bound.go). The bound keeper writes it
	// from its own goroutine, hence the locks; Sync holds durMu only to
	// copy two words.
	ctlMu  sync.Mutex // serialises writes of the control file; guards ctl
	ctl    Control    // what the control file holds, as far as this Log knows
	durMu  sync.Mutex // guards durGen and durEnd
	durGen uint64     // the generation durEnd belongs to
	durEnd int64      // the logical end as of the last successful Sync
	keeper *boundKeeper

	unsynced bool  // Write has been called since the last successful Sync
	grown    bool  // the file size changed since the last successful Sync
	err      error // sticky: the first Write or Sync failure
	closed   bool

	syncs int64 // file syncs issued; lets benchmarks report fsyncs per op
}

// Open opens or creates the log at path, takes an exclusive flock
// (non-blocking; ErrLocked wrapped with the path if held), replays every
// complete record in order through replay (which may be nil; if it
// returns an error, Open returns it wrapped), repairs a torn tail, and
// returns the log positioned at its logical end. Creating a new file
// fsyncs its directory.
//
// Before it repairs anything it checks the log against its control file
// (path+".ctl"): a log that ends before the durable bound recorded there
// fails with ErrTruncated, one of another generation with ErrLogMismatch,
// and a damaged control file with ErrControl, each naming both files. A
// log without a control file gets one.
//
// On error the file is closed and unlocked (and removed, if Open created
// it), and the ReplayInfo says how far replay got.
func Open(path string, opts Options, replay func(Record) error) (*Log, ReplayInfo, error) {
	l := &Log{path: path, opts: opts.withDefaults()}
	f, created, err := openLocked(path, l.syncDirPath)
	if err != nil {
		return nil, ReplayInfo{TornAt: -1}, err
	}
	l.f = f
	info, err := l.open(replay, created)
	if err != nil {
		if created {
			// Leave the directory as it was: an empty log left behind
			// would hide that the log was missing.
			os.Remove(path)
		}
		f.Close()
		return nil, info, err
	}
	l.startKeeper()
	return l, info, nil
}

// open reads the control file, replays the log and checks one against the
// other, then repairs a torn tail, gives an empty log its header, and
// brings the control file up to date.
func (l *Log) open(replay func(Record) error, created bool) (ReplayInfo, error) {
	ctl, haveCtl, err := ReadControl(l.path)
	if err != nil {
		return ReplayInfo{TornAt: -1}, err
	}
	return l.replay(replay, ctl, haveCtl, created)
}

// Write appends an encoded batch (one or more records from AppendRecord)
// at the logical end, first growing the preallocated region if the batch
// does not fit. It is not durable until Sync.
//
// A batch that breaks a limit is rejected whole before anything is
// written, with ErrTooLarge for an oversized payload; that error is not
// sticky. An I/O failure is.
func (l *Log) Write(batch []byte) error {
	if err := l.usable(); err != nil {
		return err
	}
	if err := l.checkBatch(batch); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	if need := l.end + int64(len(batch)); need > l.size {
		if err := l.grow(need); err != nil {
			l.err = fmt.Errorf("walstore: grow file %s to %d bytes: %w", l.path, need, err)
			return l.err
		}
	}
	if _, err := l.f.WriteAt(batch, l.end); err != nil {
		l.err = fmt.Errorf("walstore: write file %s offset %d: %w", l.path, l.end, err)
		return l.err
	}
	l.end += int64(len(batch))
	l.unsynced = true
	return nil
}

// Sync makes everything written durable. Errors are sticky: after any
// Write or Sync failure every later call returns that error, because
// retrying fsync after EIO can report success for data the kernel has
// already thrown away.
func (l *Log) Sync() error {
	if err := l.usable(); err != nil {
		return err
	}
	if !l.unsynced && !l.grown {
		return nil
	}
	// After growth the new size must reach the disk as well, which
	// fdatasync does not promise for every filesystem; fsync does.
	if err := l.syncFile(l.f, l.grown); err != nil {
		l.err = fmt.Errorf("walstore: sync file %s: %w", l.path, err)
		return l.err
	}
	l.unsynced, l.grown = false, false
	l.noteDurable()
	return nil
}

// End returns the logical end offset: where the next record will go.
func (l *Log) End() int64 { return l.end }

// Path returns the path the log was opened with.
func (l *Log) Path() string { return l.path }

// Generation returns the generation in the log file's header record, which
// its control file names; 0 for a log from before headers existed.
func (l *Log) Generation() uint64 { return l.gen }

// Close releases the lock and closes the file. It does not sync: whatever
// was written since the last Sync may or may not survive. Unless
// BoundInterval is negative, it first records the end as of the last Sync
// in the control file (a failure there is logged, not returned: the log
// itself is intact).
func (l *Log) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if l.keeper != nil {
		l.keeper.stop()
		if l.err == nil {
			if err := l.recordBound(); err != nil {
				l.opts.Logger.Warn("walstore: could not record the durable end of the log", "file", l.path, "err", err)
			}
		}
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("walstore: close file %s: %w", l.path, err)
	}
	return nil
}

// usable returns the error every operation must fail with, if any.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// grow extends the file to cover need bytes, rounded up to whole chunks
// so that most Writes land in already-allocated space.
func (l *Log) grow(need int64) error {
	chunk := l.opts.PreallocChunk
	size := (need + chunk - 1) / chunk * chunk
	if err := preallocate(l.f, l.size, size-l.size); err != nil {
		// fallocate is missing or unsupported by this filesystem:
		// write the zeros ourselves.
		if err := writeZeros(l.f, l.size, size); err != nil {
			return err
		}
	}
	l.size = size
	l.grown = true
	return nil
}

// checkBatch walks the headers of a batch, so that nothing replay would
// reject, or misparse, ever reaches the file.
func (l *Log) checkBatch(batch []byte) error {
	for off := 0; off < len(batch); {
		if len(batch)-off < headerSize {
			return fmt.Errorf("%w: file %s: partial header at batch offset %d", errBadBatch, l.path, off)
		}
		n, _ := parseHeader(batch[off:])
		switch {
		case n == unframable:
			return fmt.Errorf("%w: file %s: payload exceeds %d bytes", ErrTooLarge, l.path, maxRecordLimit)
		case n == 0:
			return fmt.Errorf("%w: file %s: zero length at batch offset %d", errBadBatch, l.path, off)
		case uint64(n)-1 > uint64(l.opts.MaxRecord):
			return fmt.Errorf("%w: file %s: payload of %d bytes exceeds limit of %d", ErrTooLarge, l.path, n-1, l.opts.MaxRecord)
		case int64(n) > int64(len(batch)-off-headerSize):
			return fmt.Errorf("%w: file %s: record at batch offset %d runs past the batch", errBadBatch, l.path, off)
		case batch[off+headerSize] == 0:
			return fmt.Errorf("%w: file %s: record type 0 at batch offset %d", errBadBatch, l.path, off)
		case RecordType(batch[off+headerSize]) == headerType:
			return fmt.Errorf("%w: file %s: record type %d (reserved for the header) at batch offset %d", errBadBatch, l.path, headerType, off)
		}
		off += headerSize + int(n)
	}
	return nil
}

// syncFile syncs a regular file: full selects fsync over fdatasync.
func (l *Log) syncFile(f *os.File, full bool) error {
	if l.opts.NoSync {
		return nil
	}
	l.syncs++
	switch {
	case l.opts.SyncFunc != nil:
		return l.opts.SyncFunc(f)
	case full:
		return f.Sync()
	default:
		return datasync(f)
	}
}

// syncDir syncs the directory holding the log.
func (l *Log) syncDir() error {
	return l.syncDirPath(filepath.Dir(l.path))
}

func (l *Log) syncDirPath(dir string) error {
	if l.opts.NoSync {
		return nil
	}
	return syncDirPath(dir)
}
