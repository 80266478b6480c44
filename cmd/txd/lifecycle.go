package main

import (
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"
)

// runUntilDone runs a started node until SIGTERM or SIGINT: it answers
// /readyz and tells systemd by ready, then stops the node and its metrics
// server and logs "stopped" last, with how long stopping took.
func runUntilDone(c *cli.Context, logger *slog.Logger, ms *metricsServer, h *health, ready func() error, closeNode func() error) error {
	h.running(ready)
	sd := startNotifier(logger, h)
	<-c.Done()
	began := time.Now()
	logger.Info("shutting down")
	h.stopping()
	sd.stop()
	err := closeNode()
	logger.Debug("shutdown step", "step", "node closed", "took", time.Since(began))
	ms.close() // after the node: scrapes keep working while it drains
	took := time.Since(began).Round(time.Microsecond)
	if err != nil {
		logger.Error("stopped", "err", err, "took", took)
		return err
	}
	logger.Info("stopped", "took", took)
	return nil
}
