package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
)

// certValidity is how long generated certificates (the CA's too) last.
const certValidity = 365 * 24 * time.Hour

func certsCommand() *cli.Command {
	return &cli.Command{
		Name:  "certs",
		Usage: "create a CA and a certificate per node and client, for --tls-cert/--tls-key/--tls-ca",
		Description: `Writes DIR/ca.crt and DIR/ca.key (the CA), and DIR/NAME.crt and DIR/NAME.key
for every node and client: ECDSA P-256, CommonName = NAME (a node's --id),
valid for a year. Existing files are never overwritten. Copy each machine its
own NAME.crt and NAME.key, and ca.crt; ca.key stays with whoever adds members.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Required: true, Usage: "directory to write into (created if missing)"},
			&cli.StringFlag{Name: "nodes", Required: true, Usage: "comma-separated node ids, e.g. COORD,B,C"},
			&cli.StringFlag{Name: "clients", Usage: "comma-separated client names, e.g. txcli"},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			nodes, clients := splitList(c.String("nodes")), splitList(c.String("clients"))
			if err := checkCertNames(nodes, clients); err != nil {
				return cli.Exit(err.Error(), 2)
			}
			if err := writeCerts(dir, append(append([]string(nil), nodes...), clients...)); err != nil {
				var exists *existsError
				if errors.As(err, &exists) {
					return cli.Exit(err.Error(), 2)
				}
				return cli.Exit(err.Error(), 1)
			}
			printCertUsage(c.App.Writer, dir, nodes, clients)
			return nil
		},
	}
}

// checkCertNames wants at least one node, and names that are valid ids,
// distinct, and not "ca" (whose files are the CA's).
func checkCertNames(nodes, clients []string) error {
	if len(nodes) == 0 {
		return errors.New("--nodes: no node ids given")
	}
	seen := map[string]bool{}
	for _, name := range append(append([]string(nil), nodes...), clients...) {
		if err := wire.CheckID("name", name); err != nil {
			return err
		}
		if strings.EqualFold(name, "ca") {
			return errors.New(`name "ca" is taken by the CA's own files`)
		}
		// Folded: on a case-insensitive file system B.crt and b.crt clash.
		if seen[strings.ToLower(name)] {
			return fmt.Errorf("name %q given twice", name)
		}
		seen[strings.ToLower(name)] = true
	}
	return nil
}

// existsError is a file certs would have to overwrite.
type existsError struct{ path string }

func (e *existsError) Error() string {
	return fmt.Sprintf("%s exists: refusing to overwrite it (choose another --dir)", e.path)
}

// writeCerts creates the CA and a certificate and key per name in dir. It
// checks first that none of the files exists, so that it writes all or
// nothing; a failure half-way removes what it wrote.
func writeCerts(dir string, names []string) (err error) {
	type file struct {
		path string
		data []byte
		mode fs.FileMode
	}
	paths := []string{filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")}
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n+".crt"), filepath.Join(dir, n+".key"))
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return &existsError{p}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}

	ca, err := certs.NewCA("txd CA", certValidity)
	if err != nil {
		return err
	}
	// Keys are secrets: readable by their owner only.
	files := []file{{paths[0], ca.CertPEM(), 0o644}, {paths[1], ca.KeyPEM(), 0o600}}
	for i, n := range names {
		cert, key, err := ca.Issue(n, certValidity)
		if err != nil {
			return err
		}
		files = append(files, file{paths[2+2*i], cert, 0o644}, file{paths[3+2*i], key, 0o600})
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
		}
	}()
	for _, f := range files {
		// O_EXCL: a file that appeared since the check is still not
		// overwritten.
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if errors.Is(err, fs.ErrExist) {
			return &existsError{f.path}
		}
		if err != nil {
			return err
		}
		written = append(written, f.path)
		_, err = fh.Write(f.data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// printCertUsage tells the operator which flags each member takes.
func printCertUsage(w io.Writer, dir string, nodes, clients []string) {
	ca := filepath.Join(dir, "ca.crt")
	fmt.Fprintf(w, "Wrote the CA (ca.crt, ca.key) and certificates for %s to %s.\n", strings.Join(append(append([]string(nil), nodes...), clients...), ", "), dir)
	fmt.Fprintf(w, "Copy each machine its NAME.crt, NAME.key and ca.crt (adjust the paths below); keep ca.key off the nodes.\n\n")
	for _, n := range nodes {
		fmt.Fprintf(w, "%s: txd coordinator|participant --id %s --tls-cert %s --tls-key %s --tls-ca %s ...\n",
			n, n, filepath.Join(dir, n+".crt"), filepath.Join(dir, n+".key"), ca)
	}
	for _, n := range clients {
		fmt.Fprintf(w, "%s: txcli --tls-cert %s --tls-key %s --tls-ca %s ...\n",
			n, filepath.Join(dir, n+".crt"), filepath.Join(dir, n+".key"), ca)
	}
}
