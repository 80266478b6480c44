package transport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
)

// clientID is the identity of the client name with role.
func (c *testCA) clientID(t *testing.T, name string, role certs.Role) *TLS {
	t.Helper()
	certPEM, keyPEM, err := c.ca.IssueClient(name, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewTLS(certPEM, keyPEM, c.ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// connHandler hands over each server-side connection a message arrives on.
type connHandler chan *Conn

func (h connHandler) HandleMessage(c *Conn, m wire.Message) {
	h <- c
	if r, ok := m.(*wire.StatusReq); ok {
		c.Send(&wire.Status{ReqID: r.ReqID, NodeID: "coord", Role: wire.RoleCoordinator})
	}
}
func (h connHandler) HandleClose(*Conn, error) {}

// A client's certificate reaches the node's handler with its role; a node's
// carries none.
func TestTLSPeerCertificateRole(t *testing.T) {
	ca := newTestCA(t)
	conns := make(connHandler, 4)
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{Handler: conns})
	for _, tc := range []struct {
		id   *TLS
		role certs.Role
	}{{ca.clientID(t, "ops", certs.RoleReadOnly), certs.RoleReadOnly}, {ca.clientID(t, "adm", certs.RoleAdmin), certs.RoleAdmin}, {ca.id(t, "old"), ""}} {
		if tc.id.Role() != tc.role {
			t.Errorf("%s: TLS.Role() = %q, want %q", tc.id.Name(), tc.id.Role(), tc.role)
		}
		cl, err := DialClientTLS(ctxT(t), s.Addr().String(), tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Status(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		c := recv(t, conns)
		if got := certs.RoleOf(c.PeerCertificate()); got != tc.role || c.PeerCertificate().Subject.CommonName != tc.id.Name() {
			t.Errorf("%s: the node sees role %q of %q, want %q", tc.id.Name(), got, c.PeerCertificate().Subject.CommonName, tc.role)
		}
		cl.Close()
	}
}

// A client's certificate (one with a role) never serves as a node's,
// whichever end holds it: a read-only client could otherwise say it is a
// coordinator and prepare and decide transactions.
func TestTLSClientCertificateIsNoNode(t *testing.T) {
	ca := newTestCA(t)
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{})
	for _, role := range []certs.Role{certs.RoleReadOnly, certs.RoleAdmin} {
		_, err := dialNode(t, s, "ops", ca.clientID(t, "ops", role), "")
		if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), `participant "ops" presented a client certificate (role `+string(role)+")") {
			t.Errorf("a node dialing with a %s client certificate: %v", role, err)
		}
	}

	// A node listening with one: dialers refuse it.
	bad := serveTLS(t, ca.clientID(t, "coord", certs.RoleReadOnly), "coord", ServerConfig{})
	if _, err := dialNode(t, bad, "B", ca.id(t, "B"), "coord"); !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("dialing a node that holds a client certificate: %v", err)
	}
	if cl, err := DialClientTLS(ctxT(t), bad.Addr().String(), ca.id(t, "ops")); err == nil || !strings.Contains(err.Error(), "client certificate") {
		if cl != nil {
			cl.Close()
		}
		t.Errorf("a client dialing a node that holds a client certificate: %v", err)
	}
}
