package main

// The torture test's control of the node processes: kill -9, restart, pause
// and resume, each recorded in the nemesis's figures and timeline; nodes
// found crashed by themselves; healing.

import (
	"fmt"
	"strings"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

func (tt *torture) note(format string, args ...any) {
	e := event{at: time.Now(), what: fmt.Sprintf(format, args...)}
	tt.nmu.Lock()
	tt.timeline = append(tt.timeline, e)
	tt.nmu.Unlock()
}

func (tt *torture) infraFailure(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	tt.note("HARNESS FAILURE: %s", firstLine(msg))
	tt.nmu.Lock()
	tt.infra = append(tt.infra, msg)
	tt.nmu.Unlock()
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func (tt *torture) kill(n *cluster.Node) {
	if !n.Running() {
		return
	}
	pid := n.Pid()
	if err := n.Kill(); err != nil {
		tt.infraFailure("kill -9 %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.kills[n.ID]++
	if _, down := tt.downSince[n.ID]; !down {
		tt.downSince[n.ID] = time.Now()
	}
	tt.nmu.Unlock()
	tt.note("kill -9 %s (pid %d)", n.ID, pid)
}

func (tt *torture) restart(n *cluster.Node) {
	if n.Running() {
		return
	}
	begun := time.Now()
	if err := n.LaunchAndDial(tortureStartBound); err != nil {
		tt.infraFailure("restarting %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.restarts[n.ID] = append(tt.restarts[n.ID], time.Since(begun))
	if since, ok := tt.downSince[n.ID]; ok {
		tt.downFor[n.ID] += time.Since(since)
		delete(tt.downSince, n.ID)
	}
	tt.nmu.Unlock()
	tt.note("restarted %s (pid %d)", n.ID, n.Pid())
}

func (tt *torture) pause(n *cluster.Node) {
	if err := n.Pause(); err != nil {
		tt.infraFailure("pausing %s: %v", n.ID, err)
		return
	}
	tt.nmu.Lock()
	tt.pauses[n.ID]++
	tt.nmu.Unlock()
	tt.note("SIGSTOP %s (pid %d)", n.ID, n.Pid())
}

func (tt *torture) resume(n *cluster.Node) {
	if err := n.Resume(); err != nil {
		tt.infraFailure("resuming %s: %v", n.ID, err)
		return
	}
	tt.note("SIGCONT %s (pid %d)", n.ID, n.Pid())
}

// ensureUp restarts any node that is down: one the nemesis did not kill
// crashed, which is a finding.
func (tt *torture) ensureUp() {
	for _, n := range tt.nodes {
		if n.Running() {
			continue
		}
		if k := n.Exited(); k > 0 {
			tt.nmu.Lock()
			if k > tt.crashSeen[n.ID] {
				tt.crashSeen[n.ID] = k
				tt.crashes = append(tt.crashes, fmt.Sprintf("%s exited by itself: %s\n%s", n.ID, n.Unexpected()[k-1], n.LogTail(40)))
			}
			tt.nmu.Unlock()
			tt.note("%s found dead (crashed)", n.ID)
		}
		tt.restart(n)
	}
}

// heal: the nemesis and the clients have stopped; every node runs and none
// is paused.
func (tt *torture) heal() {
	for _, n := range tt.nodes {
		if err := n.Resume(); err != nil {
			tt.infraFailure("resuming %s: %v", n.ID, err)
		}
	}
	tt.ensureUp()
}
