package codecgen

// What a struct's fields are: each one's kind, resolved through named
// types, also those of other packages of the module.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// kind is what a field's type is underneath its names.
type kind int

const (
	kString kind = iota
	kBool
	kUint16
	kUint64
	kInt64
	kInt
	kSlice // of structs with codecs; elem is the element type
	kSliceString
	kMap // from string to a string type; elem is the value type
	// kCustom: a type only a hand-written decoder (decode=F) handles,
	// such as a pointer to a struct; never encoded here.
	kCustom
)

var basic = map[string]kind{"string": kString, "bool": kBool, "uint16": kUint16, "uint64": kUint64, "int64": kInt64, "int": kInt}

// decodeCall is the msgpack.Decoder method for each scalar kind.
var decodeCall = map[kind]string{kString: "DecodeString", kBool: "DecodeBool", kUint16: "DecodeUint16",
	kUint64: "DecodeUint64", kInt64: "DecodeInt64", kInt: "DecodeInt"}

// encodeCall is the msgpack.Encoder method for each encodable scalar kind.
var encodeCall = map[kind]string{kString: "EncodeString", kBool: "EncodeBool", kUint16: "EncodeUint16",
	kUint64: "EncodeUint64", kInt64: "EncodeInt64"}

type field struct {
	name  string
	typ   string // as written in the struct
	kind  kind
	basic bool   // typ is the builtin type itself (no conversion needed)
	elem  string // kSlice, kMap: the element or value type as written
	tag   map[string]string
}

// resolve returns the kind of the type expression e, written in package p.
func (g *gen) resolve(p *pkg, e ast.Expr) (kind, error) {
	switch e := e.(type) {
	case *ast.Ident:
		if k, ok := basic[e.Name]; ok {
			return k, nil
		}
		t, ok := p.types[e.Name]
		if !ok {
			return 0, fmt.Errorf("unknown type %s", e.Name)
		}
		if _, ok := t.expr.(*ast.StructType); ok {
			return 0, fmt.Errorf("struct field of type %s: not supported", e.Name)
		}
		return g.resolve(p, t.expr)
	case *ast.SelectorExpr:
		other, err := g.imported(p, e.X.(*ast.Ident).Name)
		if err != nil {
			return 0, err
		}
		return g.resolve(other, e.Sel)
	case *ast.ArrayType:
		if e.Len != nil {
			return 0, fmt.Errorf("arrays are not supported")
		}
		if id, ok := e.Elt.(*ast.Ident); ok && id.Name == "string" {
			return kSliceString, nil
		}
		return kSlice, nil
	case *ast.MapType:
		if k, err := g.resolve(p, e.Key); err != nil || k != kString {
			return 0, fmt.Errorf("map keys other than strings are not supported")
		}
		if v, err := g.resolve(p, e.Value); err != nil || v != kString {
			return 0, fmt.Errorf("map values other than strings are not supported")
		}
		return kMap, nil
	}
	return 0, fmt.Errorf("type %T not supported", e)
}

// imported loads the package that p imports as name (its types only).
func (g *gen) imported(p *pkg, name string) (*pkg, error) {
	path, ok := p.imports[name]
	if !ok {
		return nil, fmt.Errorf("no import named %s", name)
	}
	if q, ok := g.mods[path]; ok {
		return q, nil
	}
	rel, ok := strings.CutPrefix(path, p.module+"/")
	if !ok {
		return nil, fmt.Errorf("%s: only packages of this module are read", path)
	}
	q, err := load(filepath.Join(p.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	g.mods[path] = q
	return q, nil
}

func (g *gen) fields(t *typeDecl) ([]field, error) {
	st, ok := t.expr.(*ast.StructType)
	if !ok {
		return nil, fmt.Errorf("not a struct")
	}
	var fs []field
	for _, f := range st.Fields.List {
		var tag reflect.StructTag
		if f.Tag != nil {
			s, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(s)
		}
		if len(f.Names) == 0 {
			return nil, fmt.Errorf("embedded fields are not supported")
		}
		if tag.Get("msgpack") == "-" {
			continue
		}
		if v, ok := tag.Lookup("msgpack"); ok && f.Names[0].Name != "_msgpack" && v != "" {
			return nil, fmt.Errorf("msgpack tag %q not supported", v)
		}
		for _, n := range f.Names {
			if !n.IsExported() {
				continue
			}
			txd := parseTag(tag.Get("txd"))
			k, err := g.resolve(g.pkg, f.Type)
			if err != nil && txd["decode"] != "" {
				k, err = kCustom, nil
			}
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", n.Name, err)
			}
			fd := field{name: n.Name, typ: exprString(f.Type), kind: k, tag: txd}
			if id, ok := f.Type.(*ast.Ident); ok {
				_, fd.basic = basic[id.Name]
			}
			switch e := f.Type.(type) {
			case *ast.ArrayType:
				fd.elem = exprString(e.Elt)
			case *ast.MapType:
				fd.elem = exprString(e.Value)
			}
			fs = append(fs, fd)
		}
	}
	return fs, nil
}

func parseTag(s string) map[string]string {
	m := map[string]string{}
	if s == "" {
		return m
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func exprString(e ast.Expr) string {
	var b bytes.Buffer
	format.Node(&b, token.NewFileSet(), e)
	return b.String()
}
