package metrics

import (
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// What the transaction path pays per event, metrics on and off (nil).
func BenchmarkHotPath(b *testing.B) {
	on, err := New(RoleCoordinator, "COORD")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		n    *Node
	}{{"off", nil}, {"on", on}} {
		b.Run("outcome+latency/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.n.Outcome(wire.TwoPC, true)
				c.n.Latency(wire.TwoPC, true, 3*time.Millisecond)
			}
		})
		b.Run("fsync/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.n.Fsync(50*time.Microsecond, 8)
			}
		})
	}
}
