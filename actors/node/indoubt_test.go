package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/incident"
)

// A transaction in doubt is logged once past the threshold and once when
// settled; a termination decision gets a line of its own; Oldest follows
// the oldest one still in doubt.
func TestDoubts(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	inc := incident.NewLimited(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute, 10, clock)
	d := NewDoubts(inc, 5*time.Second)
	d.now = clock

	d.Ready("T1", now)
	d.Ready("T2", now.Add(time.Second))
	d.Ready("T1", now.Add(3*time.Second)) // a resent vote keeps the first time
	now = now.Add(4 * time.Second)
	d.Check("T1", "COORD")
	if buf.Len() > 0 {
		t.Fatalf("logged before the threshold: %s", buf.String())
	}
	if got := d.Oldest(); got != 4*time.Second {
		t.Errorf("Oldest %v, want 4s", got)
	}
	now = now.Add(2 * time.Second)
	d.Check("T1", "COORD")
	d.Check("T1", "COORD")
	d.Check("T9", "COORD") // not in doubt
	if n := strings.Count(buf.String(), "transaction in doubt"); n != 1 {
		t.Errorf("%d in-doubt lines, want 1:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "tx=T1 coordinator=COORD in_doubt_for=6s") {
		t.Errorf("in-doubt line: %s", buf.String())
	}

	d.Settled("T1", true, "", ByCoordinator)
	d.Settled("T2", false, "termination protocol, led by B: all READY", ByTermination)
	d.Settled("T3", true, "", ByTermination) // never in doubt here: nothing
	out := buf.String()
	if !strings.Contains(out, `msg="transaction no longer in doubt" tx=T1 outcome=COMMITTED in_doubt_for=6s lasted=0s`) {
		t.Errorf("no end line for T1:\n%s", out)
	}
	if strings.Contains(out, `msg="transaction no longer in doubt" tx=T2`) {
		t.Errorf("an end line for T2, whose start was never logged:\n%s", out)
	}
	if !strings.Contains(out, `msg="decided without the coordinator, by the termination protocol" tx=T2 outcome=ABORTED reason="termination protocol, led by B: all READY" in_doubt_for=5s`) {
		t.Errorf("no termination line for T2:\n%s", out)
	}
	if strings.Contains(out, "T3") {
		t.Errorf("a line for T3, never in doubt:\n%s", out)
	}
	if got := d.Oldest(); got != 0 {
		t.Errorf("Oldest %v with nothing in doubt, want 0", got)
	}
}
