package walstore

import (
	"log/slog"
	"os"
	"time"
)

const (
	defaultPreallocChunk = 4 << 20
	defaultMaxRecord     = 16 << 20
	defaultBoundInterval = time.Second

	// maxRecordLimit caps Options.MaxRecord. It keeps every valid length
	// far below the 32-bit length field's range, which leaves room for the
	// "cannot be framed" marker AppendRecord writes for absurd payloads.
	maxRecordLimit = 1 << 30
)

// Options configure a Log. The zero value is the safe default.
type Options struct {
	// NoSync makes every fsync walstore would issue (Sync, torn-tail
	// repair, Rewrite, directory syncs) a no-op. UNSAFE: it exists for
	// benchmarks that measure CPU cost apart from the disk.
	NoSync bool

	// PreallocChunk is the size of the zero-filled chunks the file is
	// grown by (default 4 MiB; values <= 0 select the default). Growing
	// ahead of the data keeps most syncs to fdatasync, which need not
	// write the inode.
	PreallocChunk int64

	// MaxRecord is the largest payload accepted by Write and by replay
	// (default 16 MiB; values <= 0 select the default; values above
	// 1 GiB are lowered to 1 GiB). A record declaring a larger length is
	// corrupt, and is rejected before any buffer is sized from it.
	MaxRecord int

	// BoundInterval is how often, at most, the control file's durable
	// bound follows the log (default 1 s; 0 selects the default; negative:
	// only at Open, Rewrite and Close). A background goroutine records
	// the end of the log as of the last successful Sync, so the commit
	// path pays no extra fsync; a cut in the records synced during the
	// last interval before a crash looks like a torn tail.
	BoundInterval time.Duration

	// Logger receives the warnings about a cut torn tail and about the
	// control file. Nil means slog.Default().
	Logger *slog.Logger

	// SyncFunc, if set, replaces every sync of a regular file (the log,
	// its torn-tail copy, the file written by Rewrite); directory syncs
	// and the control file's syncs are not routed through it. It must
	// make both the data and the file size durable. Nil means fdatasync,
	// or fsync when the file has grown since the last sync. Tests use it
	// to inject failures.
	SyncFunc func(f *os.File) error

	// AfterRewriteStep, if set, is called after each step of Rewrite
	// (on the goroutine calling Rewrite). Tests crash the process there.
	AfterRewriteStep func(RewriteStep)
}

// RewriteStep is a step of Rewrite that has just completed.
type RewriteStep uint8

const (
	RewriteTempWritten      RewriteStep = 1 + iota // the new content is in path+".tmp", not synced
	RewriteTempSynced                              // ... and synced
	RewriteControlPrepared                         // the control file names the new generation as the next one
	RewriteRenamed                                 // path+".tmp" renamed over path; the directory not synced
	RewriteDirSynced                               // the directory synced: the rewrite is durable
	RewriteControlCommitted                        // the control file names the new generation alone
)

// withDefaults returns o with every unset field filled in.
func (o Options) withDefaults() Options {
	if o.PreallocChunk <= 0 {
		o.PreallocChunk = defaultPreallocChunk
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = defaultMaxRecord
	}
	if o.MaxRecord > maxRecordLimit {
		o.MaxRecord = maxRecordLimit
	}
	if o.BoundInterval == 0 {
		o.BoundInterval = defaultBoundInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
