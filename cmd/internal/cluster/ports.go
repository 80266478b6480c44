package cluster

import (
	"fmt"
	"net"
	"sync"
)

var handedOut struct {
	mu    sync.Mutex
	ports map[int]bool
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on a moment
// ago and that this process has not handed out before, so tests running in
// parallel never share one. Another process may still take it before the
// node binds it; Node.Start retries a first start on another port then.
func FreePort() (int, error) {
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: every port offered was already handed out")
}

// ClosedAddr returns "127.0.0.1:PORT" for a free port nobody listens on: a
// node that is down.
func ClosedAddr() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}
