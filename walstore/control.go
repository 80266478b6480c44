package walstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The control file's layout. These are part of the on-disk format.
const (
	controlMagic   = "txdwalc1" // 8 bytes; the digit is the format version
	controlSize    = 48
	controlCRCAt   = 44 // CRC-32C of bytes [0, 44)
	controlSuffix  = ".ctl"
	controlTmpName = ".ctl.tmp"
)

// Control is what a log's control file (path+".ctl") records. Gen is the
// generation of the log file it describes (the one in the file's header
// record; 0 for a log written before headers existed), and Bound a
// logical end that was durable in that file: every record before it was
// synced. NextGen and NextBound are set only while a Rewrite is under way:
// the file of that generation may have replaced the log, and then it must
// reach NextBound.
type Control struct {
	Gen       uint64
	Bound     int64
	NextGen   uint64
	NextBound int64
}

// ControlPath returns the path of the control file of the log at path.
func ControlPath(path string) string { return path + controlSuffix }

// ReadControl reads the control file of the log at path. ok is false if
// there is none. A damaged file is an error wrapping ErrControl.
func ReadControl(path string) (c Control, ok bool, err error) {
	cpath := ControlPath(path)
	b, err := os.ReadFile(cpath)
	if errors.Is(err, fs.ErrNotExist) {
		return Control{}, false, nil
	}
	if err != nil {
		return Control{}, false, fmt.Errorf("walstore: read control file %s: %w", cpath, err)
	}
	c, why := decodeControl(b)
	if why != "" {
		return Control{}, false, fmt.Errorf("%w: file %s: %s; it guards the log %s against truncation "+
			"(if the log is known to be complete, removing the control file accepts it as it is)",
			ErrControl, cpath, why, path)
	}
	return c, true, nil
}

func encodeControl(c Control) []byte {
	b := make([]byte, 0, controlSize)
	b = append(b, controlMagic...)
	b = binary.BigEndian.AppendUint64(b, c.Gen)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Bound))
	b = binary.BigEndian.AppendUint64(b, c.NextGen)
	b = binary.BigEndian.AppendUint64(b, uint64(c.NextBound))
	b = append(b, 0, 0, 0, 0) // reserved
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return b
}

// decodeControl parses a control file; why says what is wrong with it.
func decodeControl(b []byte) (c Control, why string) {
	switch {
	case len(b) != controlSize:
		return c, fmt.Sprintf("%d bytes, want %d", len(b), controlSize)
	case !bytes.Equal(b[:8], []byte(controlMagic)):
		return c, "not a txd control file (bad magic)"
	case crc32.Checksum(b[:controlCRCAt], castagnoli) != binary.BigEndian.Uint32(b[controlCRCAt:]):
		return c, "crc mismatch"
	}
	c.Gen = binary.BigEndian.Uint64(b[8:])
	c.Bound = int64(binary.BigEndian.Uint64(b[16:]))
	c.NextGen = binary.BigEndian.Uint64(b[24:])
	c.NextBound = int64(binary.BigEndian.Uint64(b[32:]))
	if c.Bound < 0 || c.NextBound < 0 {
		return Control{}, "negative bound"
	}
	return c, ""
}

// writeControl replaces the control file of the log at path atomically:
// it writes path+".ctl.tmp", syncs it, renames it over path+".ctl" and
// syncs the directory. A crash leaves the old file or the new one, never a
// mix. Its syncs do not go through Options.SyncFunc: they are not the
// log's, and a test blocking the log's fsync must not block these.
func writeControl(path string, c Control, noSync bool) error {
	cpath, tmp := ControlPath(path), path+controlTmpName
	err := writeFileSynced(tmp, encodeControl(c), noSync)
	if err == nil {
		err = os.Rename(tmp, cpath)
	}
	if err == nil && !noSync {
		err = syncDirPath(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("walstore: write control file %s: %w", cpath, err)
	}
	return nil
}

func writeFileSynced(name string, data []byte, noSync bool) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
