package app

import (
	"runtime/debug"
	"strings"
)

// Version is the build version. A release build may set it at link time
// (go build -ldflags "-X github.com/hoplite-id/hoplite/internal/app.Version=v1.2.3");
// otherwise it comes from the Go build information: the module version of
// `go install …@v1.2.3`, or the VCS revision a `go build` in a checkout
// records.
var Version = ""

func init() {
	if Version == "" {
		info, ok := debug.ReadBuildInfo()
		Version = versionFromBuildInfo(info, ok)
	}
}

// versionFromBuildInfo names a build: the module version when there is one
// (a pseudo-version already contains the revision), else "devel-" and the
// first twelve characters of the VCS revision, with "-dirty" for a build
// from a modified checkout, else "devel".
func versionFromBuildInfo(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "devel"
	}
	var revision string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	if revision == "" {
		return "devel"
	}
	v := "devel-" + revision[:min(12, len(revision))]
	if modified && !strings.HasSuffix(v, "-dirty") {
		v += "-dirty"
	}
	return v
}
