package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/txd/txd/wire/transport"
)

// Pause stops the node's process with SIGSTOP. A paused node keeps its
// sockets: the kernel still accepts connections and buffers what peers
// send, but nothing is read or answered, as in a network partition. Pausing
// a node that is not running is a no-op. A paused node must be resumed
// before Stop (SIGTERM waits for SIGCONT); Kill works on it.
func (n *Node) Pause() error { return n.sendSignal(syscall.SIGSTOP) }

// Resume continues a paused node with SIGCONT. Resuming a node that is not
// running or not paused is a no-op.
func (n *Node) Resume() error { return n.sendSignal(syscall.SIGCONT) }

// sendSignal sends sig to the node's current process, if it is alive. It
// goes through os.Process, which uses a pidfd where the kernel has them, so
// a process that was reaped meanwhile is never confused with another one
// that got its pid.
func (n *Node) sendSignal(sig syscall.Signal) error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	err := p.cmd.Process.Signal(sig)
	if err == nil || errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("signal %v to %s %s (pid %d): %w", sig, n.Role, n.ID, p.cmd.Process.Pid, err)
}

// Exited reports how many of the node's processes exited without the
// harness signalling them (crashes) so far; Unexpected lists them.
func (n *Node) Exited() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.exited)
}

// LaunchAndDial launches the node (see Launch) and waits until it completes
// a client handshake, which it does only once its log is replayed and it
// serves. Unlike Start it sends no status request, whose answer grows with
// the transactions a coordinator remembers, and it starts no txcli: for
// tests that restart nodes often. A node that exits meanwhile is an error
// carrying the end of its log.
func (n *Node) LaunchAndDial(timeout time.Duration) error {
	if err := n.Launch(); err != nil {
		return err
	}
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	err := Poll(context.Background(), timeout, func() error {
		select {
		case <-p.done:
			return errExited
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl, err := transport.DialClient(ctx, n.Addr())
		if err != nil {
			return err
		}
		cl.Close()
		return nil
	})
	if err == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s %s (pid %d) exited while starting: %v\n%s", n.Role, n.ID, p.cmd.Process.Pid, p.state, n.LogTail(40))
	default:
	}
	return fmt.Errorf("%s %s (pid %d) does not serve: %v", n.Role, n.ID, p.cmd.Process.Pid, err)
}

// LogTail is the last lines of the node's log.
func (n *Node) LogTail(lines int) string {
	all := strings.Split(strings.TrimRight(n.LogText(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
