package certs

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Role is what a client certificate allows its holder to do. It is written
// into the certificate as a Subject OrganizationalUnit "txd-role:ROLE", so
// the CA's signature covers it and no client can change its own.
//
// A certificate without one (a node's, or a client's minted before roles
// existed) has no Role: it keeps full rights. A certificate with one is a
// client's and can only connect as a client (wire/transport refuses it as a
// node), so that a read-only holder cannot pose as a coordinator instead.
type Role string

const (
	// RoleAdmin may do everything a client can: start transactions and
	// resolve in-doubt ones, besides reading.
	RoleAdmin Role = "admin"
	// RoleReadOnly may only look: status, watch, trace, get and scan.
	RoleReadOnly Role = "read-only"
)

// roleMark prefixes the OrganizationalUnit that carries a Role.
const roleMark = "txd-role:"

// ParseRole reads a role's name as an operator gives it (txd certs --role).
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleReadOnly:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want %s or %s", s, RoleAdmin, RoleReadOnly)
}

// RoleOf is the role a certificate carries; "" if it carries none (or cert
// is nil). A role this build does not know is returned as it is written: it
// grants only what every client may do (see MayWrite). Of several, the
// first that is not admin wins: a certificate never grants more than its
// narrowest role.
func RoleOf(cert *x509.Certificate) Role {
	if cert == nil {
		return ""
	}
	var role Role
	for _, ou := range cert.Subject.OrganizationalUnit {
		r, ok := strings.CutPrefix(ou, roleMark)
		if !ok {
			continue
		}
		if role == "" || role == RoleAdmin {
			role = Role(r)
		}
	}
	return role
}

// MayWrite reports whether a client holding a certificate of this role may
// change data: start a transaction or resolve an in-doubt one. No role (a
// certificate from before roles, or no TLS at all) keeps full rights.
func (r Role) MayWrite() bool { return r == "" || r == RoleAdmin }

// CheckWrite refuses what a client may not do (what: "start a
// transaction", "resolve a transaction") because of its certificate's role.
// cert is the client's certificate, nil without TLS: then no one is
// authenticated, and nothing is refused here.
func CheckWrite(cert *x509.Certificate, what string) error {
	r := RoleOf(cert)
	if r.MayWrite() {
		return nil
	}
	return fmt.Errorf("client %q holds a %s certificate: it may not %s (that needs a certificate of role %s: txd certs --add-clients NAME --role %s)",
		cert.Subject.CommonName, r, what, RoleAdmin, RoleAdmin)
}
