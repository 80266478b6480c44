// Package version says which build of txd this is: for --version, the
// start-up log line and the txd_build_info metric.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time, for a release build:
//
//	go build -ldflags "-X github.com/txd/txd/internal/version.Version=v1.2.3" ./cmd/txd
//
// Empty: the module version from the build information (set by go install
// pkg@version), else the VCS revision, else "devel".
var Version string

// String is this build's version.
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo picks a version from the build information: the main
// module's version when it has one, else the VCS revision (short, with
// "-dirty" for a modified tree), else "devel".
func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// Go is the Go release the binary was built with.
func Go() string { return runtime.Version() }

// Long is what --version prints after the program's name.
func Long() string { return String() + " (" + Go() + ")" }
