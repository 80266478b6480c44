// Package nodetest holds the test helpers the node packages' tests share
// (actors/coordinator, actors/participant, actors/integration). It imports
// neither role, so each role's own tests may use it.
package nodetest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// QuietLogger discards everything: a node's logs in tests are noise.
func QuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// WaitFor polls cond until it holds, failing t after limit.
func WaitFor(t testing.TB, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ChanHandler hands every message a connection receives to a channel.
type ChanHandler chan wire.Message

func (h ChanHandler) HandleMessage(_ *transport.Conn, m wire.Message) { h <- m }
func (h ChanHandler) HandleClose(*transport.Conn, error)              {}

// TLSIDs issues in-memory identities from one CA.
type TLSIDs struct{ ca *certs.CA }

// NewTLSIDs makes a CA valid for an hour.
func NewTLSIDs(t testing.TB) TLSIDs {
	t.Helper()
	ca, err := certs.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return TLSIDs{ca}
}

// ID issues the identity of the node name.
func (c TLSIDs) ID(t testing.TB, name string) *transport.TLS {
	t.Helper()
	certPEM, keyPEM, err := c.ca.Issue(name, time.Hour)
	return c.load(t, certPEM, keyPEM, err)
}

// ClientID issues the identity of the client name, whose certificate
// carries role.
func (c TLSIDs) ClientID(t testing.TB, name string, role certs.Role) *transport.TLS {
	t.Helper()
	certPEM, keyPEM, err := c.ca.IssueClient(name, role, time.Hour)
	return c.load(t, certPEM, keyPEM, err)
}

func (c TLSIDs) load(t testing.TB, certPEM, keyPEM []byte, err error) *transport.TLS {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	id, err := transport.NewTLS(certPEM, keyPEM, c.ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return id
}
