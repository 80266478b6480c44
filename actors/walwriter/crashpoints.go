package walwriter

import (
	"os"

	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/walstore"
)

// The log's crash points. Without -tags crashpoints every function below
// is empty and inlined away.

// crashTorn is the crash point before a forced batch is written: if it
// fires, the batch up to the middle of its last record (which starts at
// last) goes to the file behind the log's back, and the process dies with
// nothing synced. Half a record is more than its length field, so replay
// sees a record cut short, not the zeros of a clean end.
func crashTorn(log *walstore.Log, batch []byte, last int) {
	if !crashpoint.Enabled {
		return
	}
	crashpoint.Before(crashpoint.WALBatchTorn, func() {
		f, err := os.OpenFile(log.Path(), os.O_WRONLY, 0)
		if err == nil {
			_, _ = f.WriteAt(batch[:last+(len(batch)-last)/2+1], log.End())
		}
	})
}

// RewriteCrashHook maps Rewrite's steps to the compaction crash points;
// nil without them.
func RewriteCrashHook() func(walstore.RewriteStep) {
	if !crashpoint.Enabled {
		return nil
	}
	return func(s walstore.RewriteStep) {
		switch s {
		case walstore.RewriteTempWritten:
			crashpoint.Hit(crashpoint.WALCompactTempWritten)
		case walstore.RewriteTempSynced:
			crashpoint.Hit(crashpoint.WALCompactTempSynced)
		case walstore.RewriteRenamed:
			crashpoint.Hit(crashpoint.WALCompactRenamed)
		case walstore.RewriteDirSynced:
			crashpoint.Hit(crashpoint.WALCompactDirSynced)
		}
	}
}
