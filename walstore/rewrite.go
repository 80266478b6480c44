package walstore

import (
	"fmt"
	"os"
)

// Rewrite atomically replaces the log's contents with records (compaction
// after a checkpoint), in a file of a new generation. It writes
// path+".tmp" (a header record, then the records), syncs it, records in
// the control file that the new generation may replace the log, renames
// the new file over path, syncs the directory, records in the control
// file that the new generation alone is the log, and continues appending
// to the new file. Record.Offset is ignored.
//
// The new file is locked before the rename makes it visible, so there is
// no moment at which path names an unlocked log. A failure before the
// rename leaves the old log in place and usable; a failure of the rename's
// directory sync is sticky, like a failed Sync, since the rename may or
// may not be durable. A failure of the last control file write is only
// logged: the control file then still names both generations, which Open
// accepts and tidies.
func (l *Log) Rewrite(records []Record) error {
	if err := l.usable(); err != nil {
		return err
	}
	var body []byte
	for _, r := range records {
		body = AppendRecord(body, r.Type, r.Payload)
	}
	if err := l.checkBatch(body); err != nil {
		return err
	}
	gen := newGeneration()
	batch := append(appendHeader(make([]byte, 0, headerLen+len(body)), gen), body...)

	tmp := l.path + ".tmp"
	f, err := l.writeTemp(tmp, batch)
	if err != nil {
		return fmt.Errorf("walstore: rewrite file %s: %w", l.path, err)
	}

	// The bound keeper must not write the control file between here and
	// the end: it would not know which generation is on disk.
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	prepared := l.ctl
	prepared.NextGen, prepared.NextBound = gen, int64(len(batch))
	if err := writeControl(l.path, prepared, l.opts.NoSync); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("walstore: rewrite file %s: %w", l.path, err)
	}
	l.ctl = prepared
	l.afterStep(RewriteControlPrepared)

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
	l.gen = gen
	l.unsynced, l.grown = false, false
	old.Close()
	l.afterStep(RewriteRenamed)
	if err := l.syncDir(); err != nil {
		l.err = fmt.Errorf("walstore: rewrite file %s: sync directory: %w", l.path, err)
		return l.err
	}
	l.afterStep(RewriteDirSynced)

	// Only now is the new file durably the log: record that it is the
	// only generation the control file vouches for.
	l.durMu.Lock()
	l.durGen, l.durEnd = l.gen, l.end
	l.durMu.Unlock()
	if err := l.recordBoundLocked(); err != nil {
		l.opts.Logger.Warn("walstore: could not record the rewritten log in its control file", "file", l.path, "err", err)
		return nil
	}
	l.afterStep(RewriteControlCommitted)
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
