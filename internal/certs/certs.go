// Package certs mints a cluster's TLS certificates: a CA and the
// identities it issues. `txd certs` writes them to files; tests mint them in
// memory.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/txd/txd/wire"
)

// backdate is how far before its creation a certificate becomes valid, so
// that a node whose clock is a little behind the machine that generated it
// does not refuse it as not yet valid.
const backdate = time.Hour

// CA issues a cluster's certificates, in the form wire/transport's TLS expects: ECDSA P-256
// keys, the member's name as Subject CommonName, usable for both server and
// client authentication.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// NewCA creates a self-signed CA valid for validity from now.
func NewCA(name string, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := certTemplate(name, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.MaxPathLenZero = true // it signs members only, never another CA
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, certPEM: encodeCert(der), keyPEM: keyPEM}, nil
}

// CertPEM is the CA's certificate: what every member verifies peers with.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// KeyPEM is the CA's private key (PKCS #8): whoever holds it can make
// members of the cluster.
func (ca *CA) KeyPEM() []byte { return ca.keyPEM }

// Issue creates a key pair and a certificate for the member name (a node id,
// or a client's name from before roles), valid for validity from now but
// never past the CA: it carries no role.
func (ca *CA) Issue(name string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return ca.issue(name, "", validity)
}

// IssueClient is Issue for a client, whose certificate carries its role
// (role.go).
func (ca *CA) IssueClient(name string, role Role, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	r, err := ParseRole(string(role))
	if err != nil {
		return nil, nil, err
	}
	return ca.issue(name, r, validity)
}

// NotAfter is when the CA expires, and with it every certificate it signed.
func (ca *CA) NotAfter() time.Time { return ca.cert.NotAfter }

func (ca *CA) issue(name string, role Role, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := wire.CheckID("certificate name", name); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := certTemplate(name, validity)
	if err != nil {
		return nil, nil, err
	}
	// A certificate outliving its CA would fail verification anyway; its
	// date says so plainly.
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	if role != "" {
		tmpl.Subject.OrganizationalUnit = []string{roleMark + string(role)}
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	// Every node both listens (server) and dials (client); txcli only
	// dials, but one kind of certificate keeps the scheme simple.
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate for %q: %w", name, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

func certTemplate(name string, validity time.Duration) (*x509.Certificate, error) {
	// A random 128-bit serial: unique without keeping a counter anywhere.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
	}, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
