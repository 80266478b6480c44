// Command cmd writes codecgen.Output for the package in the current
// directory: `go generate` runs it from the packages that have a
// //go:generate line for it.
package main

import (
	"fmt"
	"os"

	"github.com/txd/txd/internal/codecgen"
)

func main() {
	out, err := codecgen.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "codecgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(codecgen.Output, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "codecgen:", err)
		os.Exit(1)
	}
}
