// Package node is what the coordinator and participant hosts share: client
// connection limits, the configuration error, GC tuning, the metrics every
// node exports, message tracing and trace answers, the status desk that
// serves status off the commit path, and small helpers for protocol timers
// and crash points. It knows neither role.
package node
