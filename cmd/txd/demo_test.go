package main

// `txd demo` run whole, as a user runs it: the built binary starts its own
// cluster and walks through scenarios 1-5. The demo waits for every event
// it shows by polling with deadlines and fails when one does not come, so
// its exit code checks the scenarios; this test also reads scenario 5's
// outcomes from its output.

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// demoBound is how long the whole demo may take (about 20 s).
const demoBound = 2 * time.Minute

func TestDemoScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	bins := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), demoBound)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bins.TXD, "demo")
	cmd.Stdout, cmd.Stderr = &out, &out
	begun := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("txd demo: %v after %v; output:\n%s", err, time.Since(begun).Round(time.Millisecond), out.String())
	}
	t.Logf("txd demo ran in %v", time.Since(begun).Round(time.Millisecond))
	text := out.String()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+"; output:\n%s", append(args, text)...)
	}
	for _, h := range []string{"== Scenario 1:", "== Scenario 2:", "== Scenario 3:", "== Scenario 4:", "== Scenario 5:", "Done; stopping the cluster."} {
		if !strings.Contains(text, h) {
			fail("no %q", h)
		}
	}

	// The members finish TX6 alone, within two --timeouts (1s) of the kill.
	m := regexp.MustCompile(`TX6: both COMMITTED (\S+) after the coordinator died`).FindStringSubmatch(text)
	if m == nil {
		fail("no line saying when B and C committed TX6")
	} else if took, err := time.ParseDuration(m[1]); err != nil || took > 2*time.Second {
		fail("TX6 committed %s after the kill (%v); want within 2 x the participants' --timeout of 1s", m[1], err)
	}

	// Under the partition: 3PC's sides apply different outcomes, PARALLEL's
	// cut-off member waits; once healed PARALLEL commits on both, and 3PC
	// stays split.
	_, afterCut, ok := strings.Cut(text, "into the partition:\n")
	cut, healed, ok2 := strings.Cut(afterCut, "\n$ heal\n")
	if !ok || !ok2 {
		fail("no partition and heal in scenario 5")
		return
	}
	wantLine := func(section, name, node string, cols ...string) string {
		t.Helper()
		for _, line := range strings.Split(section, "\n") {
			if !strings.HasPrefix(line, "  "+node+"  ") {
				continue
			}
			for _, c := range cols {
				if !strings.Contains(line, c) {
					fail("%s, %s: %q lacks %q", name, node, line, c)
				}
			}
			return line
		}
		fail("%s: no status line for %s", name, node)
		return ""
	}
	wantLine(cut, "partitioned", "B", "TX7 3PC COMMITTED", "TX8 PARALLEL COMMITTED", "x3pc=10", "xpar=10")
	if line := wantLine(cut, "partitioned", "C", "TX7 3PC ABORTED (termination protocol", "TX8 PARALLEL READY"); strings.Contains(line, "x3pc=") || strings.Contains(line, "xpar=") {
		fail("C applied TX7 or TX8 under the partition: %q", line)
	}
	if !strings.Contains(cut, "TX7 (3PC): the client was told COMMITTED") {
		fail("TX7's client was not told COMMITTED")
	}
	wantLine(healed, "healed", "B", "TX7 3PC COMMITTED", "TX8 PARALLEL COMMITTED")
	if line := wantLine(healed, "healed", "C", "TX7 3PC ABORTED", "TX8 PARALLEL COMMITTED", "xpar=10"); strings.Contains(line, "x3pc=") {
		fail("C applied TX7 once healed: %q", line)
	}
	if !regexp.MustCompile(`COORD's log: .*atomicity violated.* tx=TX7 participant=C`).MatchString(healed) {
		fail("the coordinator did not report TX7's split")
	}
}
