package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// remoteError returns the node's refusal in err, if that is what it is.
func remoteError(err error) (*wire.RemoteError, bool) {
	var re *wire.RemoteError
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}

// connectionLost reports whether the connection ended before the answer.
func connectionLost(err error) bool { return errors.Is(err, transport.ErrConnectionLost) }

// describe says why waiting on ctx for a node failed, naming --timeout and
// interrupts plainly instead of "context deadline exceeded" or whatever the
// dialer made of an expired context.
func describe(ctx context.Context, err error, timeout time.Duration) string {
	if _, ok := remoteError(err); ok || connectionLost(err) {
		return err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return "interrupted"
	}
	return err.Error()
}

// refusal is a node's refusal as one line: its message and code.
func refusal(re *wire.RemoteError) string {
	msg := oneLine(re.Msg)
	if msg == "" {
		msg = "refused"
	}
	if re.Code == "" {
		return msg
	}
	return fmt.Sprintf("%s (%s)", msg, re.Code)
}
