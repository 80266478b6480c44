package codecgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Write writes the generated files of the package in dir and removes
// generated files no source file asks for any more (its directives were
// removed, or the file was).
func Write(dir string) error {
	want, _, err := generate(dir)
	if err != nil {
		return err
	}
	have, err := outputs(dir)
	if err != nil {
		return err
	}
	for _, name := range have {
		if _, ok := want[name]; !ok {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	for name, b := range want {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Stale returns an error if dir's checked-in generated files differ from
// what Generate writes now (a struct changed and go generate was not run):
// one that differs, one missing, or one no source file asks for.
func Stale(dir string) error {
	want, pkgPath, err := generate(dir)
	if err != nil {
		return err
	}
	have, err := outputs(dir)
	if err != nil {
		return err
	}
	var stale []string
	for _, name := range have {
		if _, ok := want[name]; !ok {
			stale = append(stale, name+" (no source asks for it)")
		}
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			stale = append(stale, name+" (missing)")
		case err != nil:
			return err
		case !bytes.Equal(got, b):
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		return fmt.Errorf("generated code is stale: %s: run go generate %s", strings.Join(stale, ", "), pkgPath)
	}
	return nil
}

// outputs lists the generated files in dir, sorted.
func outputs(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"+Suffix))
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	slices.Sort(names)
	return names, nil
}
