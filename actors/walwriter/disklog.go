package walwriter

import (
	"log/slog"
	"time"

	"github.com/txd/txd/actors/incident"
)

// diskLog logs what an operator must know about the log's disk: each
// checkpoint once when it starts and once when it ends, and fsyncs slower
// than slow once when they begin to be and once when they are fast again.
// The flusher goroutine alone calls it.
type diskLog struct {
	inc      *incident.Log // nil: nothing logged
	slow     time.Duration
	slowOpen bool
	slowN    int           // slow fsyncs in the open incident
	slowest  time.Duration // the slowest of them
}

func newDiskLog(logger *slog.Logger, slow time.Duration) diskLog {
	if slow <= 0 {
		slow = DefaultSlowFsync
	}
	d := diskLog{slow: slow}
	if logger != nil {
		d.inc = incident.New(logger)
	}
	return d
}

func (d *diskLog) checkpointBegins(size int64) time.Time {
	if d.inc != nil {
		d.inc.Begin("checkpoint", slog.LevelInfo, "log checkpoint started", "size_bytes", size)
	}
	return time.Now()
}

func (d *diskLog) checkpointEnds(began time.Time, records int, size int64, err error) {
	if d.inc == nil || err != nil { // a failed checkpoint stops the node, which says why
		return
	}
	d.inc.End("checkpoint", "log checkpoint finished", "records", records, "size_bytes", size,
		"took", time.Since(began).Round(time.Microsecond))
}

func (d *diskLog) fsynced(took time.Duration) {
	if d.inc == nil {
		return
	}
	if took >= d.slow {
		d.slowN++
		d.slowest = max(d.slowest, took)
		if !d.slowOpen {
			d.slowOpen = true
			d.inc.Begin("slow-fsync", slog.LevelWarn, "slow fsync: every commit on this node waits for the disk",
				"took", took.Round(time.Microsecond), "threshold", d.slow)
		}
		return
	}
	if d.slowOpen {
		d.inc.End("slow-fsync", "fsync fast again", "slow_fsyncs", d.slowN, "slowest", d.slowest.Round(time.Microsecond))
		d.slowOpen, d.slowN, d.slowest = false, 0, 0
	}
}
