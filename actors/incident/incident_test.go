package incident

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(burst int) (*Log, *bytes.Buffer, *clock) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return NewLimited(slog.New(h), time.Minute, burst, c.now), &buf, c
}

// An incident is logged once when it starts and once when it ends, with
// how long it lasted; a second Begin while it is open says nothing.
func TestBeginEnd(t *testing.T) {
	l, buf, c := newTest(10)
	if !l.Begin("p/B", slog.LevelWarn, "participant unreachable", "participant", "B") {
		t.Fatal("Begin of a new incident returned false")
	}
	if l.Begin("p/B", slog.LevelWarn, "participant unreachable", "participant", "B") {
		t.Error("Begin of an open incident returned true")
	}
	c.t = c.t.Add(2 * time.Second)
	lasted, ok := l.End("p/B", "participant reachable again", "participant", "B")
	if !ok || lasted != 2*time.Second {
		t.Errorf("End: %v %v, want 2s true", lasted, ok)
	}
	if _, ok := l.End("p/B", "participant reachable again"); ok {
		t.Error("End of a closed incident returned true")
	}
	want := "level=WARN msg=\"participant unreachable\" participant=B\n" +
		"level=INFO msg=\"participant reachable again\" participant=B lasted=2s\n"
	if buf.String() != want {
		t.Errorf("logged:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// Past the burst, starts of a kind and their ends are counted, not logged;
// the count is logged once the window is over. Other kinds are not held
// back.
func TestRateLimit(t *testing.T) {
	l, buf, c := newTest(2)
	for _, k := range []string{"a", "b", "c", "d"} {
		l.Begin(k, slog.LevelWarn, "in doubt", "tx", k)
	}
	l.Event(slog.LevelError, "heuristic damage", "tx", "x")
	for _, k := range []string{"a", "b", "c", "d"} {
		l.End(k, "no longer in doubt", "tx", k)
	}
	if n := strings.Count(buf.String(), `msg="in doubt"`); n != 2 {
		t.Errorf("%d starts logged, want 2:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), `msg="no longer in doubt"`); n != 2 {
		t.Errorf("%d ends logged, want 2 (those whose start was):\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "heuristic damage") {
		t.Error("another kind was held back")
	}
	if strings.Contains(buf.String(), "rate limit") {
		t.Error("summary logged before the window is over")
	}
	c.t = c.t.Add(time.Minute)
	l.Begin("e", slog.LevelWarn, "in doubt", "tx", "e")
	if !strings.Contains(buf.String(), `msg="incidents not logged (rate limit)" kind="in doubt" count=2 window=1m0s`) {
		t.Errorf("no summary of the held-back starts:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "tx=e") {
		t.Error("a start in the new window was not logged")
	}
}
