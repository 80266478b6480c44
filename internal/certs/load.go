package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// LoadCA takes up a CA that NewCA made, from its certificate and key (as
// CertPEM and KeyPEM wrote them), to issue more members: a node or client
// added later, or one member's certificate renewed, while every other
// member keeps its own.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CA certificate: %q is not a CA", cert.Subject.CommonName)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("CA certificate: expired on %s: every certificate it signed is void; make a new CA", cert.NotAfter.UTC().Format(time.DateOnly))
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("CA key: no PEM PRIVATE KEY block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("CA key: a %T, want ECDSA", parsed)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("CA key: it does not belong to the CA certificate")
	}
	return &CA{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// ParseCert reads the first PEM certificate in certPEM.
func ParseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Signed reports whether cert was signed by this CA.
func (ca *CA) Signed(cert *x509.Certificate) bool {
	return cert.CheckSignatureFrom(ca.cert) == nil
}
