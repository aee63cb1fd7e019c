package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// version is qscale's release version. Release builds set it with
//
//	-ldflags "-X main.version=v1.2.3"
//
// (scripts/release does); otherwise it comes from the module's build
// information: the tag `go install ...@v1.2.3` fetched, or "(devel)" for a
// checkout.
var version = ""

// commit and commitTime are the VCS revision and its time (RFC 3339), set
// with -X by builds that do not record VCS information (scripts/release
// builds with -buildvcs=false so that the bytes depend on the commit only,
// not on the state of the work tree).
var commit, commitTime = "", ""

// buildInfo is what `qscale version` reports.
type buildInfo struct {
	Version    string // release version, module version, or "(devel)"
	Commit     string // VCS revision, "" when the build did not record it
	CommitTime string // RFC 3339, "" when unknown
	Modified   bool   // the work tree had uncommitted changes
	GoVersion  string
	Platform   string // GOOS/GOARCH
}

// readBuildInfo gathers the version from the -X ldflag and the build
// information the Go toolchain embeds in the binary.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, CommitTime: commitTime, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "(unknown)"
		}
		return b
	}
	if b.Version == "" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.CommitTime == "" {
				b.CommitTime = s.Value
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) write(w io.Writer) {
	fmt.Fprintf(w, "qscale %s\n", b.Version)
	commit := b.Commit
	if commit == "" {
		commit = "unknown (built without VCS information)"
	} else if b.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "commit:      %s\n", commit)
	if b.CommitTime != "" {
		fmt.Fprintf(w, "commit time: %s\n", b.CommitTime)
	}
	fmt.Fprintf(w, "go:          %s\n", b.GoVersion)
	fmt.Fprintf(w, "platform:    %s\n", b.Platform)
}

func runVersion(_ context.Context, args []string) error {
	fs := newFlags("version", "Prints qscale's version, the commit it was built from, the Go version and the platform.", "qscale version")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	readBuildInfo().write(os.Stdout)
	return nil
}
