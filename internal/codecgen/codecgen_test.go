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
		{"pointer encoded by hand-written decoder only", "type E struct{ A string }\n//txd:codec encode decode\ntype T struct{ E *E `txd:\"decode=decodeE()\"` }\n", "cannot be encoded"},
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
	s := string(out["m_codec_gen.go"])
	for _, want := range []string{`var tFields = []string{"A", "B"}`, "EncodeArrayLen(2)", "case 1:"} {
		if !strings.Contains(s, want) {
			t.Errorf("generated code lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "m.K") || strings.Contains(s, "case 2:") {
		t.Errorf("generated code has the skipped field:\n%s", s)
	}
}

// TestOneFilePerSource: each source file with directives gets its own
// generated file, importing the codec kit only if it calls it; Stale
// notices a missing file and one no source asks for, and Write removes
// the latter.
func TestOneFilePerSource(t *testing.T) {
	dir := writePkg(t, "//txd:codec encode\ntype A struct{ S string }\n")
	if err := os.WriteFile(filepath.Join(dir, "b.go"), []byte("package m\n\n//txd:codec decode\ntype B struct{ S string }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.go"), []byte("package m\n\ntype C struct{ S string }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out["m_codec_gen.go"] == nil || out["b_codec_gen.go"] == nil {
		t.Fatalf("generated %d files, want m_codec_gen.go and b_codec_gen.go", len(out))
	}
	if !strings.Contains(string(out["b_codec_gen.go"]), "B) DecodeMsgpack") || strings.Contains(string(out["b_codec_gen.go"]), "type A") {
		t.Errorf("b_codec_gen.go:\n%s", out["b_codec_gen.go"])
	}
	if err := Stale(dir); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Stale before Write: %v, want missing files", err)
	}
	extra := filepath.Join(dir, "gone"+Suffix)
	if err := os.WriteFile(extra, []byte("package m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Stale(dir); err == nil || !strings.Contains(err.Error(), "no source asks for it") {
		t.Errorf("Stale with an orphan: %v", err)
	}
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(extra); !os.IsNotExist(err) {
		t.Errorf("Write left %s: %v", extra, err)
	}
	if err := Stale(dir); err != nil {
		t.Errorf("Stale after Write: %v", err)
	}
}
