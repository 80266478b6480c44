// Command cmd writes the generated codec files of the package in the
// current directory (codecgen.Write): `go generate` runs it from the
// packages that have a //go:generate line for it.
package main

import (
	"fmt"
	"os"

	"github.com/txd/txd/internal/codecgen"
)

func main() {
	if err := codecgen.Write("."); err != nil {
		fmt.Fprintln(os.Stderr, "codecgen:", err)
		os.Exit(1)
	}
}
