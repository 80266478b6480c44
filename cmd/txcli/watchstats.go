package main

import (
	"slices"
	"time"
)

// The figures: throughput and latency over the last watchWindow.

// watchStats are the figures over the last window.
type watchStats struct {
	WindowS       float64 `json:"window_s"`
	CommittedPerS float64 `json:"committed_per_s"`
	AbortedPerS   float64 `json:"aborted_per_s"`
	P50Us         int64   `json:"p50_us"` // 0: no latency sample in the window
	P99Us         int64   `json:"p99_us"`
	InFlight      int     `json:"in_flight"`
	InDoubt       int     `json:"in_doubt"`
}

type countSample struct {
	at                 time.Time
	committed, aborted uint64
}

type latSample struct {
	at  time.Time
	lat time.Duration
}

// trimWindow forgets samples older than the window (keeping one count
// sample at or before its start, the base of the rates).
func (m *watchModel) trimWindow(now time.Time) {
	from := now.Add(-watchWindow)
	i := 0
	for i+1 < len(m.counts) && !m.counts[i+1].at.After(from) {
		i++
	}
	m.counts = m.counts[i:]
	j := 0
	for j < len(m.lats) && m.lats[j].at.Before(from) {
		j++
	}
	m.lats = m.lats[j:]
}

// stats are the figures over the window ending now.
func (m *watchModel) stats(now time.Time) watchStats {
	st := watchStats{}
	if n := len(m.counts); n >= 2 {
		first, last := m.counts[0], m.counts[n-1]
		if d := last.at.Sub(first.at).Seconds(); d > 0 && last.committed >= first.committed && last.aborted >= first.aborted {
			st.WindowS = round1(d)
			st.CommittedPerS = round1(float64(last.committed-first.committed) / d)
			st.AbortedPerS = round1(float64(last.aborted-first.aborted) / d)
		}
	}
	if len(m.lats) > 0 {
		ls := make([]time.Duration, len(m.lats))
		for i, s := range m.lats {
			ls[i] = s.lat
		}
		slices.Sort(ls)
		st.P50Us = percentile(ls, 50).Microseconds()
		st.P99Us = percentile(ls, 99).Microseconds()
	}
	if m.up {
		st.InFlight = len(m.live())
	}
	st.InDoubt = m.inDoubt()
	return st
}

// statsNews says whether the figures are worth a line: at most one a
// second, and only while something happens (or when it just stopped).
func (m *watchModel) statsNews(st watchStats, now time.Time) bool {
	if now.Sub(m.lastStatsAt) < time.Second {
		return false
	}
	busy := func(s watchStats) bool {
		return s.CommittedPerS > 0 || s.AbortedPerS > 0 || s.InFlight > 0 || s.InDoubt > 0
	}
	return busy(st) || busy(m.lastStats)
}

// percentile of sorted, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
