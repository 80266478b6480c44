package main

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
)

// The node's life, as /healthz, /readyz and systemd see it.
const (
	lifeStarting int32 = iota // replaying the log, binding the port
	lifeRunning
	lifeStopping
)

var (
	errStarting = errors.New("starting: replaying the log")
	errStopping = errors.New("stopping")
)

// health is what /healthz and /readyz answer and systemd is told.
type health struct {
	life  atomic.Int32
	ready atomic.Pointer[func() error] // the running node's readiness
}

// running records that the node is up; ready says, from then on, whether
// it can do its work (nil) or why not.
func (h *health) running(ready func() error) {
	h.ready.Store(&ready)
	h.life.Store(lifeRunning)
}

func (h *health) stopping() { h.life.Store(lifeStopping) }

// check is nil when the node is ready: its log replayed, and the peers it
// needs reachable.
func (h *health) check() error {
	switch h.life.Load() {
	case lifeStarting:
		return errStarting
	case lifeStopping:
		return errStopping
	}
	if f := h.ready.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// routes adds /healthz (200 while the process serves at all: liveness)
// and /readyz (200 when ready, else 503 with the reason).
func (h *health) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		state := "ok"
		switch h.life.Load() {
		case lifeStarting:
			state = "ok: starting"
		case lifeStopping:
			state = "ok: stopping"
		}
		fmt.Fprintln(w, state)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := h.check(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}
