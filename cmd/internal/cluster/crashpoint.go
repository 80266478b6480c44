package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// crashPointEnv is the variable the daemons read their crash point from
// (internal/crashpoint.EnvVar; cleanEnv drops any the test itself has).
const crashPointEnv = "TXD_CRASHPOINT"

// SetCrashPoint makes the node's next starts run with TXD_CRASHPOINT=spec
// ("name" or "name@n"): it kills itself with SIGKILL there. Such a death
// is not reported as a crash; Crashed lists it. "" clears it.
func (n *Node) SetCrashPoint(spec string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.crashPoint = spec
}

// CrashPoint is the TXD_CRASHPOINT of the node's next start ("": none).
func (n *Node) CrashPoint() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.crashPoint
}

// Crashed lists the node's processes that died of SIGKILL while running
// with a crash point.
func (n *Node) Crashed() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.crashed...)
}

// WaitCrashPoint waits until the node's current process has died at its
// crash point: of SIGKILL, having written the crash point's line
// ("crashpoint: NAME@N: SIGKILL") to its log. A process that exits
// otherwise, or still runs after timeout, is an error.
func (n *Node) WaitCrashPoint(ctx context.Context, timeout time.Duration) error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil || p.crashPoint == "" {
		return fmt.Errorf("%s %s runs without a crash point", n.Role, n.ID)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return fmt.Errorf("%s %s (pid %d) did not reach crash point %s within %v", n.Role, n.ID, p.cmd.Process.Pid, p.crashPoint, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if !diedOfSIGKILL(p.state) {
		return fmt.Errorf("%s %s (pid %d) ended with %v, not at crash point %s\n%s", n.Role, n.ID, p.cmd.Process.Pid, p.state, p.crashPoint, n.LogTail(30))
	}
	name, _, _ := strings.Cut(p.crashPoint, "@")
	if len(n.LogLines("crashpoint: "+name+"@", ": SIGKILL")) == 0 {
		return fmt.Errorf("%s %s (pid %d) died of SIGKILL without the line of crash point %s\n%s", n.Role, n.ID, p.cmd.Process.Pid, p.crashPoint, n.LogTail(30))
	}
	return nil
}

func diedOfSIGKILL(st *os.ProcessState) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
