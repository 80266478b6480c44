package crashpoint

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  string
	}{
		{in: WALBatchTorn, want: Spec{WALBatchTorn, 1}},
		{in: CoordDecisionSome + "@3", want: Spec{CoordDecisionSome, 3}},
		{in: "coord.decison.forced", err: "unknown crash point"},
		{in: "", err: "unknown crash point"},
		{in: CoordDecisionSome + "@0", err: "positive integer"},
		{in: CoordDecisionSome + "@-1", err: "positive integer"},
		{in: CoordDecisionSome + "@x", err: "positive integer"},
		{in: CoordDecisionSome + "@", err: "positive integer"},
	} {
		got, err := Parse(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Every name is unique and parses back to itself: the registry is what
// Init checks against.
func TestNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("crash point %q listed twice", n)
		}
		seen[n] = true
		if s, err := Parse(n); err != nil || s.Name != n || s.At != 1 {
			t.Errorf("Parse(%q) = %v, %v", n, s, err)
		}
	}
}

// Without -tags crashpoints a set TXD_CRASHPOINT is refused, not ignored.
func TestInitWithoutTag(t *testing.T) {
	if Enabled {
		t.Skip("built with -tags crashpoints")
	}
	t.Setenv(EnvVar, "")
	if err := Init(); err != nil {
		t.Fatalf("Init with %s empty: %v", EnvVar, err)
	}
	t.Setenv(EnvVar, WALBatchTorn)
	if err := Init(); err == nil || !strings.Contains(err.Error(), "without -tags crashpoints") {
		t.Fatalf("Init with %s set: %v; want a refusal", EnvVar, err)
	}
}
