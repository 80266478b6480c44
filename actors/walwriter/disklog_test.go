package walwriter

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Slow fsyncs are logged once when they start and once when an fsync is
// fast again (how many, the slowest); a checkpoint once each way.
func TestDiskLog(t *testing.T) {
	var buf bytes.Buffer
	d := newDiskLog(slog.New(slog.NewTextHandler(&buf, nil)), 100*time.Millisecond)
	d.fsynced(time.Millisecond)
	d.fsynced(150 * time.Millisecond)
	d.fsynced(300 * time.Millisecond)
	d.fsynced(2 * time.Millisecond)
	d.fsynced(time.Millisecond)
	began := d.checkpointBegins(1 << 20)
	d.checkpointEnds(began, 42, 4096, nil)
	d.checkpointEnds(d.checkpointBegins(1<<20), 0, 0, errors.New("disk full")) // the node stops and says why

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="slow fsync: every commit on this node waits for the disk" took=150ms threshold=100ms`,
		`level=INFO msg="fsync fast again" slow_fsyncs=2 slowest=300ms lasted=`,
		`level=INFO msg="log checkpoint started" size_bytes=1048576`,
		`level=INFO msg="log checkpoint finished" records=42 size_bytes=4096 took=`,
		`level=INFO msg="log checkpoint started" size_bytes=1048576`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s\nwant it to contain %s", i, lines[i], w)
		}
	}
}

// Without a logger nothing is logged and nothing breaks.
func TestDiskLogOff(t *testing.T) {
	d := newDiskLog(nil, 0)
	d.fsynced(time.Hour)
	d.checkpointEnds(d.checkpointBegins(1), 1, 1, nil)
}
