package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
)

// TLS is one member's identity for mutual TLS: its certificate (whose
// Subject CommonName is its node id, or a client's name) and the CA that
// signs every member of the cluster. Every connection then authenticates
// both ends against that CA, and the handshake binds the id a peer claims in
// its Hello (or HelloAck) to the name in its certificate.
//
// Hostnames are not verified: nodes are usually addressed by raw IPs (EC2
// private addresses) that no certificate names, and the CommonName binding
// is the stronger check anyway, since it pins the node id the protocol acts
// on rather than an address.
type TLS struct {
	cert  tls.Certificate
	roots *x509.CertPool
	name  string
}

// LoadTLS reads a PEM certificate, its private key and the cluster's CA
// certificate.
func LoadTLS(certFile, keyFile, caFile string) (*TLS, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls CA: %w", err)
	}
	t, err := NewTLS(certPEM, keyPEM, caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return t, nil
}

// NewTLS builds an identity from PEM blocks. The certificate must be signed
// by the CA, be valid now, carry a CommonName and allow both server and
// client authentication (every node both listens and dials): a mistake here
// is reported at start-up, not as peers refusing each other later.
func NewTLS(certPEM, keyPEM, caPEM []byte) (*TLS, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate and key: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM certificate in the CA file")
	}
	chain := []*x509.Certificate{cert.Leaf} // X509KeyPair parses the leaf
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate chain: %w", err)
		}
		chain = append(chain, c)
	}
	name := cert.Leaf.Subject.CommonName
	if name == "" {
		return nil, errors.New("certificate has no Subject CommonName (it must be the node id)")
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := verifyChain(roots, chain, usage); err != nil {
			return nil, fmt.Errorf("certificate for %q: %w", name, err)
		}
	}
	return &TLS{cert: cert, roots: roots, name: name}, nil
}

// Name is the certificate's CommonName: the node id (or client name) this
// identity may claim.
func (t *TLS) Name() string { return t.name }

// Role is the role the certificate carries: "" for a node's (or a client's
// from before roles), else a client's (internal/certs.Role).
func (t *TLS) Role() certs.Role { return certs.RoleOf(t.cert.Leaf) }

// serverConfig is the listener's side: it presents our certificate and
// demands one the CA signed (crypto/tls verifies that chain itself).
func (t *TLS) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{t.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    t.roots,
		MinVersion:   tls.VersionTLS13,
		// Connections are long-lived and redialled rarely: resumption would
		// save little, and without it every handshake verifies the peer's
		// certificate afresh.
		SessionTicketsDisabled: true,
	}
}

// clientConfig is the dialer's side. crypto/tls verifies a server's chain
// and its hostname together, and the hostname check would need every node's
// address in its certificate (IP SANs, which change with every EC2
// instance). So that verification is switched off (InsecureSkipVerify) and
// VerifyConnection does the chain check in its place, against the CA alone:
// it runs on every handshake, InsecureSkipVerify or not, and its error aborts
// the handshake. The address check is replaced by a stronger one, the
// certificate's CommonName against the node id (expectID here, if set, and
// the HelloAck's in handshakeOut).
func (t *TLS) clientConfig(expectID string) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{t.cert},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // see above: VerifyConnection verifies
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return handshakeErrorf("TLS: the node presented no certificate")
			}
			cn := cs.PeerCertificates[0].Subject.CommonName
			if err := verifyChain(t.roots, cs.PeerCertificates, x509.ExtKeyUsageServerAuth); err != nil {
				return handshakeErrorf("TLS: the node's certificate for %q: %v", cn, err)
			}
			if expectID != "" && cn != expectID {
				return handshakeErrorf("TLS: expected node %q, but its certificate is for %q", expectID, cn)
			}
			return nil
		},
	}
}

// verifyChain checks that chain[0] chains up to roots for usage, through the
// intermediates that follow it.
func verifyChain(roots *x509.CertPool, chain []*x509.Certificate, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	// No DNSName: see TLS. CurrentTime defaults to now.
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// peerCert is the certificate the peer presented; nil if the connection
// is not TLS.
func peerCert(nc net.Conn) *x509.Certificate {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		return certs[0]
	}
	return nil
}

// bindHello checks a dialer's Hello against its certificate. A node must
// claim exactly the id its certificate names: otherwise any member could
// pose as another (a participant voting as its peer, a node posing as the
// coordinator). A client has no id of its own to protect, so its
// certificate's name simply becomes its id.
func bindHello(h *wire.Hello, cert *x509.Certificate) error {
	if cert == nil || cert.Subject.CommonName == "" {
		return errors.New("TLS: the certificate has no Subject CommonName")
	}
	if h.Role == wire.RoleClient {
		h.NodeID = cert.Subject.CommonName
		return nil
	}
	if h.NodeID != cert.Subject.CommonName {
		return fmt.Errorf("TLS: %s %q presented a certificate for %q", h.Role, h.NodeID, cert.Subject.CommonName)
	}
	return nodeCert(h.Role, cert)
}

// nodeCert refuses a client's certificate (one with a role) to a node: a
// read-only client must not get a coordinator's rights by saying it is
// one.
func nodeCert(role wire.Role, cert *x509.Certificate) error {
	if r := certs.RoleOf(cert); r != "" {
		return fmt.Errorf("TLS: %s %q presented a client certificate (role %s): a node's certificate carries no role",
			role, cert.Subject.CommonName, r)
	}
	return nil
}

// tlsFailure makes a dialer's TLS failure say what it is. A refusal by the
// peer (an alert: our certificate is not from its CA, or none was sent) or a
// peer that does not speak TLS at all matches ErrHandshake, like any other
// refused handshake; a network failure is left as it is.
func tlsFailure(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		// In TLS 1.3 the server checks our certificate after our side of
		// the handshake is done, so its refusal arrives as an alert on the
		// first read, that of its HelloAck.
		return handshakeErrorf("TLS: refused by the node: %v (is our certificate signed by its CA?)", op.Err)
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return handshakeErrorf("TLS: the node does not speak TLS (is it running without --tls-cert?)")
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return handshakeErrorf("TLS: %v", err)
	}
	return err
}

// isTLSHello reports whether a frame header is in fact the start of a TLS
// ClientHello (a handshake record, version 3.x), to tell a TLS dialer that
// this node runs without TLS.
func isTLSHello(p []byte) bool {
	return len(p) >= 2 && p[0] == 0x16 && p[1] == 0x03
}
