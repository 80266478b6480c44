package bench

import (
	"context"
	"testing"
)

// BenchmarkStatusRoundTrip: a status request through the coordinator (every
// shard asked, their parts merged)
// and back, the floor under any client request.
func BenchmarkStatusRoundTrip(b *testing.B) {
	c := startCluster(b, true)
	cl := c.client(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cl.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
