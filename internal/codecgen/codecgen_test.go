package codecgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePkg makes a module in a temporary directory with one file, src.
func writePkg(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "m.go"), []byte("package m\n\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRefused: what the generator cannot do byte for byte like reflection,
// or could only do without a bound on a list, is an error, not code.
func TestRefused(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"list without limit", "type E struct{ A string }\n//txd:codec decode\ntype T struct{ L []E }\n", "max=LIMIT"},
		{"map without limit", "//txd:codec decode\ntype T struct{ M map[string]string }\n", "max=LIMIT"},
		{"strings without limit", "//txd:codec decode\ntype T struct{ L []string }\n", "max=LIMIT"},
		{"int encoded", "//txd:codec encode\ntype T struct{ N int }\n", "cannot be encoded"},
		{"float", "//txd:codec decode\ntype T struct{ F float64 }\n", "unknown type float64"},
		{"nested struct", "type E struct{ A string }\n//txd:codec decode\ntype T struct{ E E }\n", "not supported"},
		{"renamed field", "//txd:codec decode\ntype T struct{ A string `msgpack:\"a\"` }\n", "not supported"},
		{"cut on a bool", "//txd:codec decode\ntype T struct{ B bool `txd:\"cut=3\"` }\n", "cut is for strings"},
		{"unclosed decode(", "//txd:codec decode(n *int\ntype T struct{ A string }\n", "no )"},
		{"unknown word", "//txd:codec decodes\ntype T struct{ A string }\n", "unknown word"},
		{"no directive", "type T struct{ A string }\n", "no type has"},
	} {
		_, err := Generate(writePkg(t, c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestFieldsOnce: the field list, encoder and decoder come from the one
// declaration: a field skipped by msgpack is left out of all three.
func TestFieldsOnce(t *testing.T) {
	out, err := Generate(writePkg(t, "//txd:codec encode decode\ntype T struct {\n\t_msgpack struct{} `msgpack:\",as_array\"`\n\tA string\n\tK int `msgpack:\"-\"`\n\tB bool\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`var tFields = []string{"A", "B"}`, "EncodeArrayLen(2)", "case 1:"} {
		if !strings.Contains(s, want) {
			t.Errorf("generated code lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "m.K") || strings.Contains(s, "case 2:") {
		t.Errorf("generated code has the skipped field:\n%s", s)
	}
}
