package codecgen

// Reading a package: its type declarations, their //txd:codec directives
// and the files they are in.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// pkg is what the generator knows of one package: its type declarations.
type pkg struct {
	dir, name, path string
	root, module    string // the enclosing module's directory and path
	types           map[string]*typeDecl
	ordered         []*typeDecl
	files           []string          // the source files, sorted (base names)
	imports         map[string]string // local name -> import path, all files
}

type typeDecl struct {
	name      string
	file      string // the source file declaring it (base name)
	expr      ast.Expr
	directive *directive
}

type directive struct {
	encode, decode bool
	params         string // decode(params): the decode method's extra parameters
}

func load(dir string) (*pkg, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, mod, err := module(abs)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	path := mod
	if rel != "." {
		path += "/" + filepath.ToSlash(rel)
	}
	names, err := filepath.Glob(filepath.Join(abs, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	p := &pkg{dir: abs, path: path, root: root, module: mod, types: map[string]*typeDecl{}, imports: map[string]string{}}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || isOutput(name) {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		p.name = f.Name.Name
		p.files = append(p.files, filepath.Base(name))
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			local := ip[strings.LastIndex(ip, "/")+1:]
			if im.Name != nil {
				local = im.Name.Name
			}
			p.imports[local] = ip
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				dir, err := parseDirective(doc)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", ts.Name.Name, err)
				}
				t := &typeDecl{name: ts.Name.Name, file: filepath.Base(name), expr: ts.Type, directive: dir}
				p.types[t.name] = t
				p.ordered = append(p.ordered, t)
			}
		}
	}
	return p, nil
}

func parseDirective(doc *ast.CommentGroup) (*directive, error) {
	if doc == nil {
		return nil, nil
	}
	for _, c := range doc.List {
		rest, ok := strings.CutPrefix(c.Text, "//txd:codec ")
		if !ok {
			continue
		}
		d := &directive{}
		if i := strings.Index(rest, "decode("); i >= 0 {
			j := strings.LastIndex(rest, ")")
			if j < i {
				return nil, fmt.Errorf("no ) in %s", c.Text)
			}
			d.decode, d.params = true, rest[i+len("decode("):j]
			rest = rest[:i] + rest[j+1:]
		}
		for _, w := range strings.Fields(rest) {
			switch w {
			case "encode":
				d.encode = true
			case "decode":
				d.decode = true
			default:
				return nil, fmt.Errorf("unknown word %q in %s", w, c.Text)
			}
		}
		return d, nil
	}
	return nil, nil
}

// module returns the root directory and path of the module holding dir.
func module(dir string) (root, path string, err error) {
	for root = dir; ; root = filepath.Dir(root) {
		b, err := os.ReadFile(filepath.Join(root, "go.mod"))
		if err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if mod, ok := strings.CutPrefix(l, "module "); ok {
					return root, strings.TrimSpace(mod), nil
				}
			}
			return "", "", fmt.Errorf("%s/go.mod: no module line", root)
		}
		if filepath.Dir(root) == root {
			return "", "", fmt.Errorf("%s: not in a module", dir)
		}
	}
}
