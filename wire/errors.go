package wire

import (
	"errors"
	"fmt"
)

// Errors of the codec. Match them with errors.Is: most are wrapped with
// detail (which type, which byte).
var (
	ErrFrameTooLarge = errors.New("wire: frame too large")
	ErrUnknownType   = errors.New("wire: unknown message type")
	ErrMalformed     = errors.New("wire: malformed frame")
)

// ErrHandshake (declared in messages.go as the ErrorCode a refused handshake
// carries) is also the sentinel for a failed handshake: ErrorCode implements
// error so that errors.Is(err, ErrHandshake) works on both a locally detected
// mismatch and a peer's refusal (*RemoteError unwraps to its code). Error
// returns the bare code so that printing a code with %s or %v is unchanged.
func (c ErrorCode) Error() string { return string(c) }

// RemoteError is an Error frame received from the peer.
type RemoteError struct {
	Code ErrorCode
	Msg  string
}

func (e *RemoteError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("remote error (%s)", e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Msg, e.Code)
}

// Unwrap returns the code, so errors.Is(err, ErrHandshake) or
// errors.Is(err, ErrBusy) tells a program what kind of refusal it got.
func (e *RemoteError) Unwrap() error {
	if e.Code == "" {
		return nil
	}
	return e.Code
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
