package main

import (
	"errors"
	"fmt"
	"io"
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
		Usage: "create a CA and a certificate per node and client, for --tls-cert/--tls-key/--tls-ca; add members or renew one later",
		Description: `With --nodes (and --clients): writes DIR/ca.crt and DIR/ca.key (a new CA), and
DIR/NAME.crt and DIR/NAME.key for every node and client: ECDSA P-256,
CommonName = NAME (a node's --id), valid for a year. Existing files are never
overwritten. Copy each machine its own NAME.crt and NAME.key, and ca.crt;
ca.key stays with whoever adds members.

With --add-nodes, --add-clients and --renew: uses the CA already in DIR, so
no other member needs new files. --add-* writes the new members' files (never
overwriting any); --renew re-issues existing members' certificates and keys
for another year, keeping the previous ones as NAME.crt.old and NAME.key.old.

A client's certificate carries its --role: admin (the default) may start and
resolve transactions, read-only may only look (status, watch, trace, get,
scan). A node's carries none.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Required: true, Usage: "directory of the CA and certificates (created if missing)"},
			&cli.StringFlag{Name: "nodes", Usage: "a new CA: comma-separated node ids, e.g. COORD,B,C"},
			&cli.StringFlag{Name: "clients", Usage: "a new CA: comma-separated client names, e.g. txcli"},
			&cli.StringFlag{Name: "add-nodes", Usage: "the CA in --dir: node ids to add, e.g. D"},
			&cli.StringFlag{Name: "add-clients", Usage: "the CA in --dir: client names to add, e.g. ops"},
			&cli.StringFlag{Name: "renew", Usage: "the CA in --dir: members (nodes or clients) whose certificate to re-issue, e.g. B"},
			&cli.StringFlag{Name: "role", Value: string(certs.RoleAdmin), Usage: "the role of the clients this run makes: admin or read-only"},
		},
		Action: func(c *cli.Context) error {
			req, err := certsRequest(c)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			if req.newCA {
				err = writeCerts(req)
			} else {
				err = extendCerts(c.App.Writer, req)
			}
			if err != nil {
				var bad *badInput
				if errors.As(err, &bad) {
					return cli.Exit(err.Error(), 2)
				}
				return cli.Exit(err.Error(), 1)
			}
			if req.newCA {
				printCertUsage(c.App.Writer, req)
			}
			return nil
		},
	}
}

// certsReq is what a run of txd certs is asked to do.
type certsReq struct {
	dir   string
	newCA bool // a new CA (--nodes); else the one in dir
	// nodes and clients are the members to create; renew, those to
	// re-issue (with the CA in dir only).
	nodes, clients, renew []string
	role                  certs.Role // the clients'
}

// certsRequest reads and checks the flags: a new CA (--nodes, --clients) or
// the one in --dir (--add-nodes, --add-clients, --renew), not both.
func certsRequest(c *cli.Context) (certsReq, error) {
	req := certsReq{dir: c.String("dir")}
	role, err := certs.ParseRole(c.String("role"))
	if err != nil {
		return req, fmt.Errorf("--role: %w", err)
	}
	req.role = role
	fresh := c.IsSet("nodes") || c.IsSet("clients")
	extend := c.IsSet("add-nodes") || c.IsSet("add-clients") || c.IsSet("renew")
	switch {
	case fresh && extend:
		return req, errors.New("--nodes and --clients make a new CA; --add-nodes, --add-clients and --renew use the one in --dir: not both in one run")
	case !fresh && !extend:
		return req, errors.New("nothing to do: give --nodes (and --clients) for a new CA, or --add-nodes, --add-clients or --renew for the CA in --dir")
	case fresh:
		req.newCA, req.nodes, req.clients = true, splitList(c.String("nodes")), splitList(c.String("clients"))
		if len(req.nodes) == 0 {
			return req, errors.New("--nodes: no node ids given")
		}
	default:
		req.nodes, req.clients, req.renew = splitList(c.String("add-nodes")), splitList(c.String("add-clients")), splitList(c.String("renew"))
		if len(req.nodes)+len(req.clients)+len(req.renew) == 0 {
			return req, errors.New("--add-nodes, --add-clients, --renew: no names given")
		}
	}
	switch {
	case !c.IsSet("role") || len(req.clients) > 0:
	case len(req.renew) > 0:
		return req, errors.New("--role is for the clients added (--add-clients): --renew keeps each member's role; to change a client's, remove its files and add it again with --add-clients NAME --role ROLE")
	default:
		return req, errors.New("--role is for clients (--clients, --add-clients): a node's certificate carries no role")
	}
	return req, checkCertNames(append(append(append([]string(nil), req.nodes...), req.clients...), req.renew...))
}

// checkCertNames wants names that are valid ids, distinct, and not "ca"
// (whose files are the CA's).
func checkCertNames(names []string) error {
	seen := map[string]bool{}
	for _, name := range names {
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

// writeCerts creates the CA and a certificate and key per member in dir,
// all or nothing: no file may exist yet.
func writeCerts(req certsReq) error {
	ca, err := certs.NewCA("txd CA", certValidity)
	if err != nil {
		return err
	}
	// Keys are secrets: readable by their owner only.
	files := []certFile{
		{filepath.Join(req.dir, "ca.crt"), ca.CertPEM(), 0o644},
		{filepath.Join(req.dir, "ca.key"), ca.KeyPEM(), 0o600},
	}
	members, err := issueMembers(ca, req)
	if err != nil {
		return err
	}
	return createFiles(req.dir, append(files, members...), "choose another --dir, or add to this CA with --add-nodes or --add-clients")
}

// issueMembers makes the files of req's nodes and clients.
func issueMembers(ca *certs.CA, req certsReq) ([]certFile, error) {
	var files []certFile
	add := func(name string, cert, key []byte, err error) error {
		if err != nil {
			return err
		}
		files = append(files, certFile{filepath.Join(req.dir, name+".crt"), cert, 0o644},
			certFile{filepath.Join(req.dir, name+".key"), key, 0o600})
		return nil
	}
	for _, n := range req.nodes {
		cert, key, err := ca.Issue(n, certValidity)
		if err := add(n, cert, key, err); err != nil {
			return nil, err
		}
	}
	for _, n := range req.clients {
		cert, key, err := ca.IssueClient(n, req.role, certValidity)
		if err := add(n, cert, key, err); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// printCertUsage tells the operator which flags each new member takes.
func printCertUsage(w io.Writer, req certsReq) {
	ca := filepath.Join(req.dir, "ca.crt")
	names := strings.Join(append(append([]string(nil), req.nodes...), req.clients...), ", ")
	if req.newCA {
		fmt.Fprintf(w, "Wrote the CA (ca.crt, ca.key) and certificates for %s to %s.\n", names, req.dir)
	} else {
		fmt.Fprintf(w, "Added %s to the CA in %s; no other member needs new files.\n", names, req.dir)
	}
	fmt.Fprintf(w, "Copy each machine its NAME.crt, NAME.key and ca.crt (adjust the paths below); keep ca.key off the nodes.\n\n")
	for _, n := range req.nodes {
		fmt.Fprintf(w, "%s: txd coordinator|participant --id %s --tls-cert %s --tls-key %s --tls-ca %s ...\n",
			n, n, filepath.Join(req.dir, n+".crt"), filepath.Join(req.dir, n+".key"), ca)
	}
	for _, n := range req.clients {
		fmt.Fprintf(w, "%s (role %s): txcli --tls-cert %s --tls-key %s --tls-ca %s ...\n",
			n, req.role, filepath.Join(req.dir, n+".crt"), filepath.Join(req.dir, n+".key"), ca)
	}
}
