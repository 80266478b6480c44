package walstore

import (
	"fmt"
	"os"
)

// Rewrite atomically replaces the log's contents with records (compaction
// after a checkpoint). It writes path+".tmp", syncs it, renames it over
// path, syncs the directory, and continues appending to the new file.
// Record.Offset is ignored.
//
// The new file is locked before the rename makes it visible, so there is
// no moment at which path names an unlocked log. A failure before the
// rename leaves the old log in place and usable; a failure after it is
// sticky, like a failed Sync, since the rename may or may not be durable.
func (l *Log) Rewrite(records []Record) error {
	if err := l.usable(); err != nil {
		return err
	}
	var batch []byte
	for _, r := range records {
		batch = AppendRecord(batch, r.Type, r.Payload)
	}
	if err := l.checkBatch(batch); err != nil {
		return err
	}

	tmp := l.path + ".tmp"
	f, err := l.writeTemp(tmp, batch)
	if err != nil {
		return fmt.Errorf("walstore: rewrite file %s: %w", l.path, err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("walstore: rewrite file %s: %w", l.path, err)
	}

	// From here path names the new file, so the Log must follow it even
	// if the directory sync fails.
	old := l.f
	l.f = f
	l.end, l.size = int64(len(batch)), int64(len(batch))
	l.unsynced, l.grown = false, false
	old.Close()
	l.afterStep(RewriteRenamed)
	if err := l.syncDir(); err != nil {
		l.err = fmt.Errorf("walstore: rewrite file %s: sync directory: %w", l.path, err)
		return l.err
	}
	l.afterStep(RewriteDirSynced)
	return nil
}

func (l *Log) afterStep(s RewriteStep) {
	if l.opts.AfterRewriteStep != nil {
		l.opts.AfterRewriteStep(s)
	}
}

// writeTemp creates tmp (or reuses one left by a crashed Rewrite), locks
// it, and writes and syncs batch in it. On failure it removes tmp, unless
// someone else holds its lock: then it is theirs and is left alone.
func (l *Log) writeTemp(tmp string, batch []byte) (*os.File, error) {
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", tmp, err)
	}
	err = f.Truncate(0)
	if err == nil && len(batch) > 0 {
		_, err = f.WriteAt(batch, 0)
	}
	if err == nil {
		l.afterStep(RewriteTempWritten)
		err = l.syncFile(f, true)
	}
	if err == nil {
		l.afterStep(RewriteTempSynced)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return f, nil
}
