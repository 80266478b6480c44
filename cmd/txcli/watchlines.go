package main

import (
	"fmt"
	"strings"
	"time"
)

// eventLine is an event as one plain line (watch on a pipe or a file):
// no escape codes; text from the network is quoted when it holds anything
// unprintable (cell), so a hostile reason cannot drive a terminal.
func eventLine(e watchEvent) string {
	var b strings.Builder
	b.WriteString(e.Time.Format("15:04:05.000"))
	b.WriteByte(' ')
	switch e.Event {
	case evCoordinator:
		if e.Up != nil && *e.Up {
			fmt.Fprintf(&b, "coordinator %s up at %s", cell(e.ID), cell(e.Addr))
		} else {
			fmt.Fprintf(&b, "coordinator down at %s: %s (retrying)", cell(e.Addr), cell(e.Error))
		}
	case evParticipant:
		fmt.Fprintf(&b, "participant %s", cell(e.ID))
		if e.Connected != nil {
			if *e.Connected {
				b.WriteString(" connected to the coordinator")
			} else {
				b.WriteString(" not connected to the coordinator")
			}
		}
		if e.Reachable != nil {
			if *e.Reachable {
				b.WriteString(" reachable")
			} else {
				fmt.Fprintf(&b, " unreachable: %s", cell(e.Error))
			}
		}
	case evTx:
		fmt.Fprintf(&b, "tx %s %s %s", cell(e.ID), cell(e.Protocol), showStateStr(e.State))
		for _, id := range sortedKeys(e.Participants) {
			fmt.Fprintf(&b, " %s=%s", cell(id), showStateStr(e.Participants[id]))
		}
	case evOutcome:
		fmt.Fprintf(&b, "outcome %s %s %s", cell(e.ID), cell(e.Protocol), cell(e.Outcome))
		if e.LatencyUs != nil {
			fmt.Fprintf(&b, " in %s", showLatency(time.Duration(*e.LatencyUs)*time.Microsecond))
		}
		if e.Reason != "" {
			fmt.Fprintf(&b, " reason: %s", cell(e.Reason))
		}
	case evInDoubt:
		fmt.Fprintf(&b, "in-doubt %s: %s %s for %s", cell(e.ID), cell(e.Participant), showStateStr(e.State),
			showAge(time.Duration(e.ForMs)*time.Millisecond))
		if e.Outcome != "" {
			fmt.Fprintf(&b, " (coordinator decided %s, not acknowledged)", cell(e.Outcome))
		}
	case evStats:
		b.WriteString("stats " + statsText(*e.Stats))
	default:
		b.WriteString(cell(e.Event))
	}
	return b.String()
}

// statsText is the figures in a few words.
func statsText(s watchStats) string {
	lat := "no latency sample"
	if s.P50Us > 0 || s.P99Us > 0 {
		lat = fmt.Sprintf("p50 %s p99 %s", showLatency(time.Duration(s.P50Us)*time.Microsecond),
			showLatency(time.Duration(s.P99Us)*time.Microsecond))
	}
	return fmt.Sprintf("last %gs: %.1f committed/s, %.1f aborted/s, %s; %d in flight, %d in doubt",
		s.WindowS, s.CommittedPerS, s.AbortedPerS, lat, s.InFlight, s.InDoubt)
}

func showStateStr(s string) string {
	if s == "" {
		return stateShownUnknown
	}
	return cell(s)
}

// showLatency rounds a latency to 3 significant figures or so.
func showLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// showAge is an age to a tenth of a second.
func showAge(d time.Duration) string {
	return d.Round(100 * time.Millisecond).String()
}
