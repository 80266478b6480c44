package walstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// ReplayInfo reports what Open found in the file.
type ReplayInfo struct {
	Records   int    // complete records replayed
	End       int64  // logical end of the log (where the next record goes)
	TornAt    int64  // offset of a torn tail that was cut off, -1 if none
	TornBytes int64  // length of the cut range, which ends at the last non-zero byte of the file
	TornCopy  string // path of the saved copy of the cut bytes ("" if none)
}

// replay feeds every valid record to fn, then decides what the bytes after
// the last one are: the clean end, a torn tail (cut), or corruption
// (reported, file left alone). Before cutting anything it checks the log
// against its control file ctl (have: there is one). See the package
// documentation.
func (l *Log) replay(fn func(Record) error, ctl Control, have, created bool) (ReplayInfo, error) {
	info := ReplayInfo{TornAt: -1}
	fi, err := l.f.Stat()
	if err != nil {
		return info, fmt.Errorf("walstore: stat file %s: %w", l.path, err)
	}
	s := &scanner{f: l.f, path: l.path, size: fi.Size(), maxRecord: l.opts.MaxRecord}

	var off int64
	var why badRecord
	// Whether a record ends at each bound the control file records.
	endsAtBound, endsAtNext := ctl.Bound == 0, ctl.NextBound == 0
	for {
		body, w, err := s.recordAt(off)
		if err != nil {
			return info, err
		}
		if w != recordOK {
			why = w
			break
		}
		switch {
		case RecordType(body[0]) == headerType:
			gen, ok := parseHeaderBody(body)
			if off != 0 || !ok {
				return info, fmt.Errorf("%w: file %s offset %d: malformed or misplaced header record", ErrCorrupt, l.path, off)
			}
			l.gen = gen
		case fn != nil:
			// The three-index slice keeps a callback's append from
			// scribbling over the next record in the window.
			p := body[1:len(body):len(body)]
			if err := fn(Record{Type: RecordType(body[0]), Payload: p, Offset: off}); err != nil {
				return info, fmt.Errorf("walstore: replay file %s offset %d: %w", l.path, off, err)
			}
			fallthrough
		default:
			info.Records++
		}
		off += headerSize + int64(len(body))
		info.End = off
		endsAtBound = endsAtBound || off == ctl.Bound
		endsAtNext = endsAtNext || off == ctl.NextBound
	}
	l.end, l.size = off, s.size

	// What follows the last record: zeros (the clean end), a torn tail,
	// or damage with a valid record after it.
	nz, err := s.nextNonZero(off)
	if err != nil {
		return info, err
	}
	if nz >= 0 {
		next, err := s.nextValid(off)
		if err != nil {
			return info, err
		}
		if next >= 0 {
			return info, fmt.Errorf("%w: file %s offset %d: %s (next valid record at offset %d)",
				ErrCorrupt, l.path, off, s.describe(off, why), next)
		}
	}

	// A log cut short looks like one with a torn tail: only the control
	// file tells them apart, so it is consulted before anything is cut.
	endsAt := func(b int64) bool {
		return (b == ctl.Bound && endsAtBound) || (b == ctl.NextBound && endsAtNext)
	}
	newCtl, writeCtl, err := l.checkControl(ctl, have, off, endsAt, created)
	if err != nil {
		return info, err
	}

	if nz >= 0 {
		last, err := s.lastNonZero(off)
		if err != nil {
			return info, err
		}
		cut := last + 1 - off
		copyPath, err := l.cutTornTail(s, off, cut)
		if err != nil {
			return info, err
		}
		l.opts.Logger.Warn("walstore: cut torn tail of write-ahead log",
			"file", l.path, "offset", off, "bytes", cut, "reason", s.describe(off, why), "copy", copyPath)
		info.TornAt, info.TornBytes, info.TornCopy = off, cut, copyPath
	}

	if l.gen == 0 && l.end == 0 {
		// A new (or never synced) log: give it a header, with the
		// generation the control file already names if it names one.
		gen := newCtl.Gen
		if gen == 0 {
			gen = newGeneration()
			newCtl, writeCtl = Control{Gen: gen}, true
		}
		if err := l.writeHeaderRecord(gen); err != nil {
			return info, err
		}
		info.End = l.end
	}
	if writeCtl {
		if err := writeControl(l.path, newCtl, l.opts.NoSync); err != nil {
			return info, err
		}
	}
	l.ctl = newCtl
	l.durGen, l.durEnd = l.gen, newCtl.Bound
	return info, nil
}

// cutTornTail saves file bytes [off, off+n) to a new file beside the log,
// then zeroes them in the log. The copy is durable before the zeroing
// starts, so a crash in between never loses the bytes: the next Open sees
// the same torn tail and saves it again.
func (l *Log) cutTornTail(s *scanner, off, n int64) (string, error) {
	cp, copyPath, err := createTornCopy(l.path, off)
	if err != nil {
		return "", err
	}
	err = copyRange(s, cp, off, n)
	if err == nil {
		err = l.syncFile(cp, true)
	}
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.syncDir()
	}
	if err != nil {
		return "", fmt.Errorf("walstore: save torn tail of file %s offset %d to %s: %w", l.path, off, copyPath, err)
	}

	if err := writeZeros(l.f, off, off+n); err != nil {
		return "", fmt.Errorf("walstore: cut torn tail of file %s offset %d: %w", l.path, off, err)
	}
	if err := l.syncFile(l.f, false); err != nil {
		return "", fmt.Errorf("walstore: sync file %s after cutting torn tail: %w", l.path, err)
	}
	return copyPath, nil
}

// createTornCopy creates path+".torn-<off>", or a numbered variant if a
// copy from an earlier crash at the same offset is still there: each one
// may hold different bytes, and none should be overwritten.
func createTornCopy(path string, off int64) (*os.File, string, error) {
	base := path + ".torn-" + strconv.FormatInt(off, 10)
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = base + "." + strconv.Itoa(i)
		}
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return nil, "", fmt.Errorf("walstore: save torn tail of file %s offset %d: %w", path, off, err)
		}
	}
}

// copyRange writes file bytes [off, off+n) read through s to dst.
func copyRange(s *scanner, dst *os.File, off, n int64) error {
	for done := int64(0); done < n; {
		b, err := s.bytes(off+done, int(min(readChunk, n-done)))
		if err != nil {
			return err
		}
		if _, err := dst.WriteAt(b, done); err != nil {
			return err
		}
		done += int64(len(b))
	}
	return nil
}
