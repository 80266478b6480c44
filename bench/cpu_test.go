package bench

import (
	"syscall"
	"time"
)

// cpuTime is the CPU (user + system) this process has used so far. Every
// node and the client run in the benchmark's process, so its growth per
// transaction is what one commit costs the machine in CPU, a figure that,
// unlike wall-clock throughput, barely moves when other work shares the
// cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
