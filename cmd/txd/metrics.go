package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/actors/metrics"
)

func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics at http://ADDR/metrics, and /healthz and /readyz, e.g. 127.0.0.1:9100 (empty: off)", EnvVars: []string{"TXD_METRICS"}}
}

// metricsShutdown bounds how long a stopping node waits for scrapes in
// progress. Connections that have not sent a request are closed at once.
const metricsShutdown = 2 * time.Second

// metricsServer serves one node's metrics and health over HTTP.
type metricsServer struct {
	m      *metrics.Node
	ln     net.Listener
	srv    *http.Server
	health *health

	mu    sync.Mutex // guards fresh
	fresh map[net.Conn]bool
}

// listenMetrics checks --metrics and binds it before the node starts, so a
// bad or busy address fails the start (exit 2, or 1 for a busy port) instead
// of leaving a node running without the metrics it was asked for. It
// returns nil for an empty address: metrics off.
func listenMetrics(addr, role, id string, h *health) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, cli.Exit(fmt.Sprintf("--metrics %q: want host:port such as 127.0.0.1:9100: %v", addr, err), 2)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return nil, cli.Exit(fmt.Sprintf("--metrics %q: port %q: want 0-65535", addr, port), 2)
	}
	m, err := metrics.New(role, id)
	if err != nil {
		return nil, cli.Exit(err.Error(), 2)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, cli.Exit(fmt.Sprintf("--metrics: %v", err), 1)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	h.routes(mux)
	s := &metricsServer{m: m, ln: ln, health: h, fresh: map[net.Conn]bool{}}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ConnState: s.track}
	return s, nil
}

// track remembers the connections that have not sent a request yet:
// http.Server.Shutdown waits for those (up to 5 s after they opened),
// and close does not.
func (s *metricsServer) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = true
	} else {
		delete(s.fresh, c)
	}
}

// node is the metrics to give the node: nil when off.
func (s *metricsServer) node() *metrics.Node {
	if s == nil {
		return nil
	}
	return s.m
}

// serve starts answering scrapes and health checks: from before the log
// is replayed, so that /healthz and /readyz say "starting" meanwhile.
func (s *metricsServer) serve(logger *slog.Logger) {
	if s == nil {
		return
	}
	logger.Info("metrics listening", "addr", "http://"+s.ln.Addr().String()+"/metrics")
	go func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
}

// close stops the server with the node: no new scrapes, connections
// without a request closed, and scrapes in progress get metricsShutdown to
// finish.
func (s *metricsServer) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdown)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	s.ln.Close() // never served (the node failed to start): Shutdown leaves it open
}
