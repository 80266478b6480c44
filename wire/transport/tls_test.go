package transport

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
)

// testCA issues in-memory identities: no fixture files to expire.
type testCA struct{ ca *certs.CA }

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca, err := certs.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{ca}
}

// id is name's identity, trusting the CAs given (default: this one).
func (c *testCA) id(t *testing.T, name string, trust ...*testCA) *TLS {
	t.Helper()
	certPEM, keyPEM, err := c.ca.Issue(name, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(trust) == 0 {
		trust = []*testCA{c}
	}
	var roots []byte
	for _, tc := range trust {
		roots = append(roots, tc.ca.CertPEM()...)
	}
	id, err := NewTLS(certPEM, keyPEM, roots)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// serveTLS serves a fake coordinator over mutual TLS as id, claiming self.
func serveTLS(t *testing.T, id *TLS, self string, cfg ServerConfig) *Server {
	t.Helper()
	cfg.Self = wire.HelloAck{NodeID: self, Role: wire.RoleCoordinator}
	cfg.TLS = id
	if cfg.Handler == nil {
		cfg.Handler = &coordinator{}
	}
	return serve(t, cfg)
}

// dialNode dials s as the node self over TLS as id.
func dialNode(t *testing.T, s *Server, self string, id *TLS, expect string) (*Conn, error) {
	t.Helper()
	c, err := DialWith(ctxT(t), s.Addr().String(), wire.Hello{NodeID: self, Role: wire.RoleParticipant}, nil,
		DialOptions{TLS: id, ExpectID: expect})
	if err == nil {
		t.Cleanup(func() { c.Close(); c.wait() })
	}
	return c, err
}

func TestTLSHandshakeAndRequests(t *testing.T) {
	ca := newTestCA(t)
	hellos := make(chan wire.Hello, 2)
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{
		Accept: func(h *wire.Hello) error { hellos <- *h; return nil },
	})

	// A client is named by its certificate, whatever its Hello said.
	cl, err := DialClientTLS(ctxT(t), s.Addr().String(), ca.id(t, "ops"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if h := recv(t, hellos); h.NodeID != "ops" || h.Role != wire.RoleClient {
		t.Fatalf("server saw Hello %+v", h)
	}
	if r := cl.Remote(); r.NodeID != "coord" {
		t.Fatalf("Remote() = %+v", r)
	}
	res, err := cl.Start(ctxT(t), "tx-1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "a", Value: "1"}})
	if err != nil || res.Outcome != wire.StateCommitted || res.TxID != "tx-1" {
		t.Fatalf("Start: %+v, %v", res, err)
	}
	if _, err := cl.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// A node whose certificate matches its Hello, dialing the node it
	// expects.
	c, err := dialNode(t, s, "B", ca.id(t, "B"), "coord")
	if err != nil {
		t.Fatal(err)
	}
	if h := recv(t, hellos); h.NodeID != "B" || h.Role != wire.RoleParticipant {
		t.Fatalf("server saw Hello %+v", h)
	}
	if _, ok := c.nc.(*tls.Conn); !ok {
		t.Fatalf("the connection is a %T, not TLS", c.nc)
	}
}

// TestTLSOtherCA: a certificate from another CA gets nowhere, whichever side
// holds it.
func TestTLSOtherCA(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	var log logBuf
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{Logger: log.logger()})

	// The dialer's own CA did not sign the node's certificate: it refuses
	// the node before saying a word.
	_, err := dialNode(t, s, "B", other.id(t, "B"), "")
	if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("dialing a node of another CA: %v", err)
	}

	// A dialer that trusts the node's CA but holds a certificate of
	// another: the node refuses it.
	_, err = dialNode(t, s, "B", other.id(t, "B", other, ca), "")
	if err == nil {
		t.Fatal("a certificate of another CA was accepted")
	}
	log.waitLog(t, "closing connection in handshake", "certificate signed by unknown authority")

	// And the same for a client.
	if _, err := DialClientTLS(ctxT(t), s.Addr().String(), other.id(t, "ops", other, ca)); err == nil {
		t.Fatal("a client certificate of another CA was accepted")
	}
}

// TestTLSClientWithoutCert: a TLS node takes no client that has no
// certificate, whether it speaks TLS or not.
func TestTLSClientWithoutCert(t *testing.T) {
	ca := newTestCA(t)
	var log logBuf
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{Logger: log.logger()})

	// Plain TCP: told in a frame it can read.
	_, err := DialClient(ctxT(t), s.Addr().String())
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrHandshake || !strings.Contains(re.Msg, "requires TLS") {
		t.Fatalf("plain client: %v", err)
	}

	// TLS without a certificate: the handshake's last step is the node's
	// check of the certificate, so the refusal comes as an alert on the
	// first read.
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(nc, &tls.Config{RootCAs: ca.id(t, "x").roots, ServerName: "coord", MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true})
	b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "ops", Role: wire.RoleClient})
	err = tc.Handshake()
	if err == nil {
		if _, err = tc.Write(b); err == nil {
			_, err = wire.ReadFrame(bufio.NewReader(tc), 0)
		}
	}
	if err == nil {
		t.Fatal("a client without a certificate was answered")
	}
	log.waitLog(t, "closing connection in handshake", "didn't provide a certificate")
}

// TestTLSNameMismatch: a node's certificate must be for the id it claims;
// each side checks the other.
func TestTLSNameMismatch(t *testing.T) {
	ca := newTestCA(t)
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{})

	// The dialer claims B with C's certificate: the node refuses it.
	_, err := dialNode(t, s, "B", ca.id(t, "C"), "")
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrHandshake || !strings.Contains(re.Msg, `participant "B" presented a certificate for "C"`) {
		t.Fatalf("node posing as B: %v", err)
	}

	// The node claims "coord" with another's certificate: the dialer
	// refuses it.
	impostor := serveTLS(t, ca.id(t, "B"), "coord", ServerConfig{})
	_, err = dialNode(t, impostor, "C", ca.id(t, "C"), "")
	if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), `coordinator "coord" presented a certificate for "B"`) {
		t.Fatalf("dialing a node posing as coord: %v", err)
	}

	// The node is who it says, but not who the dialer was told to expect.
	_, err = dialNode(t, s, "C", ca.id(t, "C"), "B")
	if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), `expected node "B", but its certificate is for "coord"`) {
		t.Fatalf("dialing coord while expecting B: %v", err)
	}
}

// TestTLSAgainstPlainNode: a TLS dialer is told that a node runs without
// TLS, and the node says why it dropped the connection.
func TestTLSAgainstPlainNode(t *testing.T) {
	ca := newTestCA(t)
	var log logBuf
	s := serve(t, ServerConfig{Logger: log.logger()})
	_, err := dialNode(t, s, "B", ca.id(t, "B"), "")
	if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Fatalf("TLS dialing a plain node: %v", err)
	}
	log.waitLog(t, "this node runs without TLS")
}

func TestTLSPeerReconnects(t *testing.T) {
	ca := newTestCA(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	coordID := ca.id(t, "coord")
	h1 := &coordinator{got: make(chan wire.Message, 10)}
	s1 := serveOn(t, ln, ServerConfig{Self: wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator}, Handler: h1, TLS: coordID})

	states := make(chan peerState, 10)
	var log logBuf
	p := NewPeer(PeerConfig{
		Addr: addr, Self: wire.Hello{NodeID: "A", Role: wire.RoleParticipant}, TLS: ca.id(t, "A"), ExpectID: "coord",
		Logger:  log.logger(),
		OnState: func(_ *Peer, up bool, remote wire.HelloAck) { states <- peerState{up, remote} },
	})
	defer p.Close()
	if st := recv(t, states); !st.up || st.remote.NodeID != "coord" {
		t.Fatalf("first OnState %+v", st)
	}
	if err := p.Send(&wire.Vote{TxID: "tx", From: "A", Yes: true}); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, h1.got).(*wire.Vote); v.From != "A" {
		t.Fatalf("server got %+v", v)
	}

	s1.Close()
	if st := recv(t, states); st.up {
		t.Fatalf("OnState after the server closed: %+v", st)
	}

	// Back on the same address: the Peer redials, over TLS again.
	var ln2 net.Listener
	eventually(t, func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	}, "to listen on %s again: %v", addr, err)
	h2 := &coordinator{got: make(chan wire.Message, 10)}
	serveOn(t, ln2, ServerConfig{Self: wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator}, Handler: h2, TLS: coordID})
	if st := recv(t, states); !st.up || st.remote.NodeID != "coord" {
		t.Fatalf("OnState after the restart: %+v", st)
	}
	if err := p.Send(&wire.Ack{TxID: "tx", From: "A", State: wire.StateCommitted}); err != nil {
		t.Fatal(err)
	}
	recv(t, h2.got)
}

// TestTLSPeerRefusalWarns: a Peer the node keeps refusing says so once as a
// warning, not at every redial and not only at debug level.
func TestTLSPeerRefusalWarns(t *testing.T) {
	ca := newTestCA(t)
	s := serveTLS(t, ca.id(t, "coord"), "coord", ServerConfig{})
	var log logBuf
	p := NewPeer(PeerConfig{Addr: s.Addr().String(), Self: wire.Hello{NodeID: "A", Role: wire.RoleParticipant},
		TLS: ca.id(t, "A"), ExpectID: "B", Logger: log.logger()})
	log.waitLog(t, "level=WARN", `expected node \"B\"`)
	eventually(t, func() bool { return strings.Count(log.String(), "level=DEBUG msg=\"wire: peer unreachable\"") >= 2 },
		"two more redials; log:\n%s", &log)
	p.Close()
	if n := strings.Count(log.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, log.String())
	}
}

// TestNewTLSChecks: a broken identity is refused when loaded, not by peers
// later.
func TestNewTLSChecks(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	certPEM, keyPEM, err := ca.ca.Issue("B", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ca.ca.Issue("C", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		cert, key, roots []byte
		want             string
	}{
		{"other CA", certPEM, keyPEM, other.ca.CertPEM(), "unknown authority"},
		{"wrong key", certPEM, otherKey, ca.ca.CertPEM(), "private key does not match"},
		{"no CA", certPEM, keyPEM, []byte("junk"), "no PEM certificate"},
	} {
		if _, err := NewTLS(tc.cert, tc.key, tc.roots); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	if id, err := NewTLS(certPEM, keyPEM, ca.ca.CertPEM()); err != nil || id.Name() != "B" {
		t.Fatalf("NewTLS = %v, %v", id, err)
	}
	if _, _, err := ca.ca.Issue("a/b", time.Hour); err == nil {
		t.Fatal("issued a certificate for an invalid id")
	}
	if !bytes.Contains(ca.ca.KeyPEM(), []byte("PRIVATE KEY")) {
		t.Fatal("CA key is not PEM")
	}
}
