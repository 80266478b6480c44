package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// PollInterval is how often the poll helpers check their condition.
const PollInterval = 20 * time.Millisecond

// Poll calls cond every PollInterval until it returns nil, and returns nil
// then. When timeout passes (or ctx ends) first it returns an error
// carrying cond's last complaint.
func Poll(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %v: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// Eventually polls cond until it returns nil; if timeout passes first it
// fails t with what and cond's last complaint. Call it from the test's
// goroutine.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	start := time.Now()
	if err := Poll(context.Background(), timeout, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
		return
	}
	t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
}

// Consistently checks cond every PollInterval for d and fails t with what
// and the complaint as soon as cond returns an error. Call it from the
// test's goroutine.
func Consistently(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	checks := 0
	for {
		if err := cond(); err != nil {
			t.Fatalf("%s: stopped holding after %d checks (%v before the end of %v): %v",
				what, checks, time.Until(deadline).Round(time.Millisecond), d, err)
			return
		}
		checks++
		if !time.Now().Before(deadline) {
			break
		}
		time.Sleep(min(PollInterval, time.Until(deadline))) // inside the poll loop
	}
	t.Logf("%s: held for %v (%d checks)", what, d, checks)
}

// Expect is Eventually that reports a timeout with t.Errorf instead of
// ending the test, and returns whether cond was met: for a check whose
// failure should not hide what the rest of the test finds.
func Expect(t testing.TB, timeout time.Duration, what string, cond func() error) bool {
	t.Helper()
	start := time.Now()
	if err := Poll(context.Background(), timeout, cond); err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
	return true
}
