package main

import (
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifier tells systemd (a Type=notify unit) that the node is ready, what
// it waits for until then, and that it is stopping. Without NOTIFY_SOCKET
// (not under systemd) it only logs the "ready" line.
type notifier struct {
	logger *slog.Logger
	h      *health
	quit   chan struct{}
	done   chan struct{}
}

// How often readiness is checked: often until the node is ready (systemctl
// start waits for it), then only to keep systemctl status current.
const (
	notifyStarting = 100 * time.Millisecond
	notifyRunning  = 2 * time.Second
)

func startNotifier(logger *slog.Logger, h *health) *notifier {
	n := &notifier{logger: logger, h: h, quit: make(chan struct{}), done: make(chan struct{})}
	go n.run()
	return n
}

func (n *notifier) run() {
	defer close(n.done)
	ready := false
	status := ""
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-n.quit:
			return
		case <-t.C:
		}
		err := n.h.check()
		st := "ready"
		if err != nil {
			st = err.Error()
		}
		if !ready && err == nil {
			ready = true
			n.logger.Info("ready")
			n.notify(daemon.SdNotifyReady + "\nSTATUS=" + st)
		} else if st != status {
			n.notify("STATUS=" + st)
		}
		status = st
		if ready {
			t.Reset(notifyRunning)
		} else {
			t.Reset(notifyStarting)
		}
	}
}

// stop tells systemd the node is stopping.
func (n *notifier) stop() {
	close(n.quit)
	<-n.done
	n.notify(daemon.SdNotifyStopping + "\nSTATUS=stopping")
}

func (n *notifier) notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.logger.Warn("systemd notification failed", "state", state, "err", err)
	}
}
