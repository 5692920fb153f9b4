package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func cmdVersion(_ context.Context, _ *Client, args []string, out io.Writer) error {
	if _, err := noArgs("version", args); err != nil {
		return err
	}
	fmt.Fprintf(out, "copctl %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// version is the module version, or the VCS revision of a development build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "devel " + rev + modified
	}
	if v == "" {
		return "(devel)"
	}
	return v
}
