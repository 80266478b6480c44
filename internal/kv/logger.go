package kv

import (
	"fmt"
	"log"
)

// logger passes the engine's errors to Options.Logf and drops its
// informational lines (one per flush and compaction).
type logger struct {
	logf func(format string, args ...any)
}

func (l logger) Infof(string, ...any) {}

func (l logger) Errorf(format string, args ...any) {
	if l.logf == nil {
		log.Printf("kv: "+format, args...)
		return
	}
	l.logf("kv: "+format, args...)
}

// Fatalf is called on damage the engine cannot go on from: the store stops
// the process rather than serve from it.
func (l logger) Fatalf(format string, args ...any) {
	l.Errorf(format, args...)
	panic(fmt.Sprintf("kv: "+format, args...))
}
