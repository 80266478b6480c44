package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"
)

func newCA(t *testing.T, validity time.Duration) *CA {
	t.Helper()
	ca, err := NewCA("test CA", validity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIssueRoles(t *testing.T) {
	ca := newCA(t, time.Hour)
	node, _, err := ca.Issue("B", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(t, node); RoleOf(c) != "" || len(c.Subject.OrganizationalUnit) != 0 {
		t.Errorf("node certificate: role %q, OU %q; want none", RoleOf(c), c.Subject.OrganizationalUnit)
	}
	for _, role := range []Role{RoleAdmin, RoleReadOnly} {
		certPEM, _, err := ca.IssueClient("ops", role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := parse(t, certPEM)
		if RoleOf(c) != role || c.Subject.CommonName != "ops" {
			t.Errorf("%s client: role %q, CN %q", role, RoleOf(c), c.Subject.CommonName)
		}
		if want := []string{"txd-role:" + string(role)}; len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != want[0] {
			t.Errorf("%s client: OU %q, want %q", role, c.Subject.OrganizationalUnit, want)
		}
	}
	for _, bad := range []Role{"", "root"} {
		if _, _, err := ca.IssueClient("ops", bad, time.Hour); err == nil {
			t.Errorf("IssueClient with role %q: no error", bad)
		}
	}
	// Written as ParseRole reads it.
	if certPEM, _, err := ca.IssueClient("ops", "Read-Only ", time.Hour); err != nil || RoleOf(parse(t, certPEM)) != RoleReadOnly {
		t.Errorf("IssueClient(\"Read-Only \"): %v", err)
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"admin": RoleAdmin, "read-only": RoleReadOnly, " Read-Only": RoleReadOnly} {
		if got, err := ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "readonly", "root"} {
		if _, err := ParseRole(in); err == nil || !strings.Contains(err.Error(), "want admin or read-only") {
			t.Errorf("ParseRole(%q): %v", in, err)
		}
	}
}

// What a certificate's role allows: no role (a node's, one from before
// roles, no TLS) and admin may write; read-only and a role this build does
// not know may not; of several roles the narrowest counts.
func TestRoleOfAndCheckWrite(t *testing.T) {
	withOU := func(ou ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: "ops", OrganizationalUnit: ou}}
	}
	for _, tc := range []struct {
		cert  *x509.Certificate
		role  Role
		write bool
	}{
		{nil, "", true},
		{withOU(), "", true},
		{withOU("ops team"), "", true},
		{withOU("txd-role:admin"), RoleAdmin, true},
		{withOU("txd-role:read-only"), RoleReadOnly, false},
		{withOU("txd-role:auditor"), "auditor", false},
		{withOU("txd-role:admin", "txd-role:read-only"), RoleReadOnly, false},
		{withOU("txd-role:read-only", "txd-role:admin"), RoleReadOnly, false},
	} {
		var ou []string
		if tc.cert != nil {
			ou = tc.cert.Subject.OrganizationalUnit
		}
		if got := RoleOf(tc.cert); got != tc.role {
			t.Errorf("OU %q: role %q, want %q", ou, got, tc.role)
		}
		err := CheckWrite(tc.cert, "start a transaction")
		if (err == nil) != tc.write {
			t.Errorf("OU %q: CheckWrite = %v, want allowed %v", ou, err, tc.write)
		}
		if err != nil && !strings.Contains(err.Error(), `client "ops" holds a `+string(tc.role)+" certificate: it may not start a transaction") {
			t.Errorf("OU %q: %q does not say who and why", ou, err)
		}
	}
}

func TestLoadCA(t *testing.T) {
	ca := newCA(t, time.Hour)
	again, err := LoadCA(ca.CertPEM(), ca.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	// What the loaded CA issues, the original's certificate verifies.
	certPEM, _, err := again.IssueClient("ops", RoleReadOnly, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, certPEM)
	if !ca.Signed(c) || !again.Signed(c) {
		t.Error("a certificate the loaded CA issued is not signed by the CA")
	}
	other := newCA(t, time.Hour)
	if other.Signed(c) {
		t.Error("another CA claims a certificate it did not sign")
	}
	member, memberKey, err := ca.Issue("B", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"another CA's key", ca.CertPEM(), other.KeyPEM(), "does not belong to the CA certificate"},
		{"a member's certificate", member, memberKey, "is not a CA"},
		{"no certificate", nil, ca.KeyPEM(), "no PEM CERTIFICATE"},
		{"no key", ca.CertPEM(), ca.CertPEM(), "no PEM PRIVATE KEY"},
	} {
		if _, err := LoadCA(tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadExpiredCA(t *testing.T) {
	ca := newCA(t, -time.Minute) // backdated an hour: valid until a minute ago
	if _, err := LoadCA(ca.CertPEM(), ca.KeyPEM()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired CA: %v", err)
	}
}

// A member's certificate never outlives its CA.
func TestIssueCappedByCA(t *testing.T) {
	ca := newCA(t, time.Hour)
	certPEM, _, err := ca.Issue("B", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(t, certPEM); !c.NotAfter.Equal(ca.NotAfter()) {
		t.Errorf("member valid until %v, CA until %v", c.NotAfter, ca.NotAfter())
	}
}
