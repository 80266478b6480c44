package protocol

import (
	"strings"
	"testing"
)

func TestZZStats(t *testing.T) {
	stats := map[string]int{}
	for seed := int64(1); seed <= 300; seed++ {
		st := &statsT{T: t}
		runRandom3Stats(st, seed, stats)
	}
	t.Logf("%v", stats)
}

type statsT struct{ *testing.T }

func runRandom3Stats(st *statsT, seed int64, stats map[string]int) {
	// reuse: run and then inspect via a hook
	hook = func(s *sim) {
		for _, id := range s.ids {
			for _, tx := range []string{"TX1", "TX2"} {
				p := s.nodes[id].p
				if p == nil || p.txns[tx] == nil {
					continue
				}
				r := p.txns[tx].reason
				switch {
				case strings.HasPrefix(r, "termination protocol"):
					stats["led:"+string(p.txns[tx].state)]++
				case strings.HasPrefix(r, "learned"):
					stats["learned:"+string(p.txns[tx].state)]++
				case strings.HasPrefix(r, "recovered"):
					stats["recovered:"+string(p.txns[tx].state)]++
				case strings.HasPrefix(r, "asked by"):
					stats["askedby"]++
				}
				stats["final:"+string(p.txns[tx].state)]++
			}
		}
		stats["coordRecords"] += len(s.nodes[coordID].log.durable)
	}
	runRandom3(st.T, seed)
	hook = nil
}
