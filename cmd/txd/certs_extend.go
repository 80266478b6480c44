package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/txd/txd/internal/certs"
)

// capSlack is how much shorter than a year new certificates may be, for
// the CA expiring first, before txd certs says so.
const capSlack = 7 * 24 * time.Hour

// extendCerts adds members to the CA in req.dir and renews others, so that
// no other member needs new files. Everything is checked and issued before
// anything is written.
func extendCerts(w io.Writer, req certsReq) error {
	ca, err := loadDirCA(req.dir)
	if err != nil {
		return err
	}
	members, err := dirMembers(req.dir)
	if err != nil {
		return err
	}
	for _, n := range append(append([]string(nil), req.nodes...), req.clients...) {
		for _, m := range members {
			if m != n && strings.EqualFold(m, n) {
				return badInputf("name %q clashes with member %q (on a case-insensitive file system their files are the same)", n, m)
			}
		}
	}
	added, err := issueMembers(ca, req)
	if err != nil {
		return err
	}
	renewed, err := renewMembers(ca, req.dir, req.renew, members)
	if err != nil {
		return err
	}
	if err := createFiles(req.dir, added, "to re-issue an existing member's certificate, use --renew NAME"); err != nil {
		return err
	}
	if err := replaceFiles(renewed); err != nil {
		return err
	}
	if len(added) > 0 {
		printCertUsage(w, req)
	}
	for _, n := range req.renew {
		fmt.Fprintf(w, "Renewed %s: new %s.crt and %s.key in %s; the previous ones are now %s.crt.old and %s.key.old.\n",
			n, n, n, req.dir, n, n)
	}
	if len(req.renew) > 0 {
		fmt.Fprintf(w, "Copy each renewed member its new NAME.crt and NAME.key and restart it (txcli: its next run); no other member needs anything.\n")
	}
	// The CA's year began before these certificates': a few days less is
	// not worth a word.
	if time.Until(ca.NotAfter()) < certValidity-capSlack {
		fmt.Fprintf(w, "Note: the CA expires on %s, and every certificate it signed with it: the new ones last until then only. Before then, make a new CA (txd certs --nodes in another --dir) and give every member its new files.\n",
			ca.NotAfter().UTC().Format(time.DateOnly))
	}
	return nil
}

// loadDirCA takes up the CA whose ca.crt and ca.key are in dir.
func loadDirCA(dir string) (*certs.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badInputf("%s: no CA there (no ca.crt): make one with txd certs --dir %s --nodes ..., or point --dir at the directory that holds ca.crt and ca.key", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badInputf("%s: ca.crt but no ca.key: only the machine that holds the CA's key can add or renew members", dir)
	}
	if err != nil {
		return nil, err
	}
	ca, err := certs.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, badInputf("%s: %v", dir, err)
	}
	return ca, nil
}

// dirMembers names the members whose certificates are in dir: every
// NAME.crt but the CA's.
func dirMembers(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.crt"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range paths {
		if n := strings.TrimSuffix(filepath.Base(p), ".crt"); n != "ca" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// renewMembers issues a new certificate and key, for another year, to each
// of names, with the name and role its present certificate carries.
func renewMembers(ca *certs.CA, dir string, names, members []string) ([]certFile, error) {
	var files []certFile
	for _, n := range names {
		path := filepath.Join(dir, n+".crt")
		certPEM, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, badInputf("--renew %s: no %s.crt in %s, so no such member (members: %s)", n, n, dir, strings.Join(members, ", "))
		}
		if err != nil {
			return nil, err
		}
		old, err := certs.ParseCert(certPEM)
		if err != nil {
			return nil, badInputf("--renew %s: %s: %v", n, path, err)
		}
		if old.Subject.CommonName != n {
			return nil, badInputf("--renew %s: %s is a certificate for %q", n, path, old.Subject.CommonName)
		}
		if !ca.Signed(old) {
			return nil, badInputf("--renew %s: %s was not signed by the CA in %s", n, path, dir)
		}
		var cert, key []byte
		if role := certs.RoleOf(old); role == "" {
			cert, key, err = ca.Issue(n, certValidity)
		} else {
			cert, key, err = ca.IssueClient(n, role, certValidity)
		}
		if err != nil {
			return nil, badInputf("--renew %s: %v", n, err)
		}
		files = append(files, certFile{path, cert, 0o644}, certFile{filepath.Join(dir, n+".key"), key, 0o600})
	}
	return files, nil
}
