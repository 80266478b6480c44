package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// loggerFor builds the logger newLogger makes for these flag values.
func loggerFor(t *testing.T, format string, w *bytes.Buffer) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, f := range logFlags() {
		if err := f.Apply(fs); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Parse([]string{"--log-format", format}); err != nil {
		t.Fatal(err)
	}
	logger, err := newLogger(cli.NewContext(cli.NewApp(), fs, nil), w)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("stopped", "took", 1500*time.Millisecond, "n", 3)
}

// Durations are written as durations, "1.5s", in JSON as in text.
func TestLogDurations(t *testing.T) {
	var buf bytes.Buffer
	loggerFor(t, "json", &buf)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["took"] != "1.5s" || line["n"] != 3.0 {
		t.Errorf("JSON line %s: want took \"1.5s\" and n 3", buf.String())
	}
	buf.Reset()
	loggerFor(t, "text", &buf)
	if !strings.Contains(buf.String(), " took=1.5s n=3") {
		t.Errorf("text line %q: want took=1.5s", buf.String())
	}
}
