package codecgen

// Writing the code of one type: its field list, encoder and decoder.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

type gen struct {
	pkg     *pkg
	kit     string // qualifier of the codec kit's functions: "" in wire itself
	kitUsed bool   // the file being written calls the kit through kit
	mods    map[string]*pkg
}

// kitName is the codec kit's function name as the generated code calls it.
func (g *gen) kitName(name string) string {
	if g.kit != "" {
		g.kitUsed = true
	}
	return g.kit + name
}

func (g *gen) typeCodec(b *bytes.Buffer, t *typeDecl) error {
	fs, err := g.fields(t)
	if err != nil {
		return err
	}
	list := strings.ToLower(t.name[:1]) + t.name[1:] + "Fields"
	fmt.Fprintf(b, "\n// %s are %s's msgpack fields in declaration order.\nvar %s = []string{", list, t.name, list)
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%q", f.name)
	}
	b.WriteString("}\n")
	if t.directive.encode {
		if err := g.encoder(b, t, fs); err != nil {
			return err
		}
	}
	if t.directive.decode {
		return g.decoder(b, t, fs, list)
	}
	return nil
}

func (g *gen) encoder(b *bytes.Buffer, t *typeDecl, fs []field) error {
	fmt.Fprintf(b, "\nfunc (m %s) EncodeMsgpack(e *msgpack.Encoder) error { return m.encode(e) }\n", t.name)
	fmt.Fprintf(b, "\nfunc (m *%s) encode(e *msgpack.Encoder) error {\n", t.name)
	fmt.Fprintf(b, "\tif err := e.EncodeArrayLen(%d); err != nil {\n\t\treturn err\n\t}\n", len(fs))
	for i, f := range fs {
		var call string
		switch f.kind {
		case kSlice:
			call = fmt.Sprintf("%s(e, m.%s)", g.kitName("EncodeSlice"), f.name)
		default:
			m, ok := encodeCall[f.kind]
			if !ok {
				return fmt.Errorf("field %s: its kind cannot be encoded; leave the type to reflection", f.name)
			}
			v := "m." + f.name
			if !f.basic {
				v = fmt.Sprintf("%s(%s)", basicName(f.kind), v)
			}
			call = fmt.Sprintf("e.%s(%s)", m, v)
		}
		if i == len(fs)-1 {
			fmt.Fprintf(b, "\treturn %s\n}\n", call)
		} else {
			fmt.Fprintf(b, "\tif err := %s; err != nil {\n\t\treturn err\n\t}\n", call)
		}
	}
	return nil
}

func basicName(k kind) string {
	for n, b := range basic {
		if b == k {
			return n
		}
	}
	panic("no basic type")
}

func (g *gen) decoder(b *bytes.Buffer, t *typeDecl, fs []field, list string) error {
	if p := t.directive.params; p != "" {
		fmt.Fprintf(b, "\nfunc (m *%s) decode(d *msgpack.Decoder, %s) error {\n", t.name, p)
	} else {
		fmt.Fprintf(b, "\nfunc (m *%s) DecodeMsgpack(d *msgpack.Decoder) error {\n", t.name)
	}
	fmt.Fprintf(b, "\treturn %s(d, %s, func() { *m = %s{} }, func(i int) error {\n\t\tswitch i {\n",
		g.kitName("DecodeArrayStruct"), list, t.name)
	for i, f := range fs {
		fmt.Fprintf(b, "\t\tcase %d:\n", i)
		if err := g.decodeField(b, f); err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	b.WriteString("\t\t}\n\t\treturn nil\n\t})\n}\n")
	return nil
}

func (g *gen) decodeField(b *bytes.Buffer, f field) error {
	if h := f.tag["decode"]; h != "" {
		name, args, _ := strings.Cut(strings.TrimSuffix(h, ")"), "(")
		if args != "" {
			args = ", " + args
		}
		fmt.Fprintf(b, "\t\t\treturn %s(d, &m.%s%s)\n", name, f.name, args)
		return nil
	}
	limit := func() (string, string, error) {
		if f.tag["max"] == "" || f.tag["what"] == "" {
			return "", "", fmt.Errorf("a list or map needs the tag txd:\"max=LIMIT,what=NAME\"")
		}
		return f.tag["max"], strconv.Quote(f.tag["what"]), nil
	}
	switch f.kind {
	case kSlice, kSliceString, kMap:
		max, what, err := limit()
		if err != nil {
			return err
		}
		call := map[kind]string{kSlice: "DecodeSlice[" + f.elem + "]", kSliceString: "DecodeStrings", kMap: "DecodeStringMap[" + f.elem + "]"}[f.kind]
		fmt.Fprintf(b, "\t\t\tv, err := %s(d, %s, %s)\n", g.kitName(call), what, max)
		fmt.Fprintf(b, "\t\t\tm.%s = v\n\t\t\treturn err\n", f.name)
		return nil
	}
	v := "v"
	if cut := f.tag["cut"]; cut != "" {
		if f.kind != kString {
			return fmt.Errorf("cut is for strings")
		}
		v = fmt.Sprintf("%s(v, %s)", g.kitName("ShortText"), cut)
	}
	if !f.basic {
		v = fmt.Sprintf("%s(%s)", f.typ, v)
	}
	fmt.Fprintf(b, "\t\t\tv, err := d.%s()\n", decodeCall[f.kind])
	fmt.Fprintf(b, "\t\t\tif err == nil {\n\t\t\t\tm.%s = %s\n\t\t\t}\n\t\t\treturn err\n", f.name, v)
	return nil
}
