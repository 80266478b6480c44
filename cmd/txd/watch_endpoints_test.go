package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// escapes are a terminal's control sequences: what remains is the text.
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|[=>78])`)

// figuresWhole is the end of watch's figures line, which a narrow
// terminal must wrap rather than cut.
var figuresWhole = regexp.MustCompile(`flight, \d+ in doubt`)

// Issue 16: with the coordinator gone for good (killed in its --delay
// window, B and C READY), watch --endpoints in a terminal of 80×24 and of
// 120×40 shows every participant, what it holds in doubt and for how
// long, the figures line whole, and the coordinator as unreachable;
// status --endpoints shows the same.
func TestWatchEndpointsCoordinatorDown(t *testing.T) {
	const partTimeout = time.Second
	c := startCluster(t, cluster.Config{CoordDelay: 5 * time.Second, PartTimeout: partTimeout})
	blockAfterCommit(t, c, partTimeout)
	eps := strings.Join([]string{c.Coord.Addr(), c.Part("B").Addr(), c.Part("C").Addr()}, ",")

	for _, size := range [][2]uint16{{24, 80}, {40, 120}} {
		p := startPTYSize(t, size[0], size[1], c.Bins.TXCLI, "--endpoints", eps, "watch", "--interval", "100ms")
		cluster.Eventually(t, waitTimeout, fmt.Sprintf("the %dx%d view shows B and C in doubt", size[1], size[0]), func() error {
			s := escapes.ReplaceAllString(p.out.String(), "")
			for _, want := range []string{"COORDINATOR UNREACHABLE", "NODES", "B", "C", "in doubt: TX1 READY for", "IN FLIGHT", "RECENT OUTCOMES"} {
				if !strings.Contains(s, want) {
					return fmt.Errorf("no %q yet", want)
				}
			}
			if !figuresWhole.MatchString(s) {
				return fmt.Errorf("the figures line is cut")
			}
			if strings.Count(s, "in doubt: TX1 READY for") < 2 {
				return fmt.Errorf("not both participants in doubt yet")
			}
			return nil
		})
		if _, err := p.tty.Write([]byte("q")); err != nil {
			t.Fatal(err)
		}
		wantRestored(t, p, "q")
	}

	r := c.Txcli("--json", "--endpoints", eps, "status")
	var out struct {
		Nodes []struct {
			Reachable bool `json:"reachable"`
			InDoubt   []struct {
				ID    string `json:"id"`
				ForMs int64  `json:"for_ms"`
			} `json:"in_doubt"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || r.Code != 0 || len(out.Nodes) != 3 {
		t.Fatalf("status --endpoints: %v (%v)", r, err)
	}
	if out.Nodes[0].Reachable {
		t.Errorf("the killed coordinator is reachable: %s", r.Stdout)
	}
	for _, n := range out.Nodes[1:] {
		if len(n.InDoubt) != 1 || n.InDoubt[0].ID != "TX1" || n.InDoubt[0].ForMs <= 0 {
			t.Errorf("participant not shown in doubt on TX1 with its age: %s", r.Stdout)
		}
	}
}
