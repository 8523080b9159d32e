// Package version tells msgscript's own version, from what the Go toolchain recorded in the
// binary: the module's version when msgscript was built as a dependency (xcaddy, or go install
// ...@v1.2.3), else the VCS revision of the checkout it was built from.
package version

import (
	"runtime/debug"
	"strings"
)

// Module is msgscript's module path.
const Module = "github.com/msgscript/msgscript"

// Info is what is known of the build.
type Info struct {
	// Version is the module's version (v1.2.3), or "devel" for a build from a checkout.
	Version string `json:"version"`
	// Revision, Time and Modified are the checkout's commit, its time, and whether it had
	// uncommitted changes, when the build recorded them.
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

// Get reads the build information of the running binary.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "devel"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "devel"}
	mod := &bi.Main
	if mod.Path != Module {
		mod = nil
		for _, dep := range bi.Deps {
			if dep.Path == Module {
				mod = dep
			}
		}
	}
	if mod != nil && mod.Version != "" && mod.Version != "(devel)" && mod.Replace == nil {
		info.Version = mod.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the version for people: "v1.2.3", or "devel 3f2a9c1b04de (2026-11-30T14:47:15Z,
// modified)".
func (i Info) String() string {
	if i.Version != "devel" || i.Revision == "" {
		return i.Version
	}
	var details []string
	if i.Time != "" {
		details = append(details, i.Time)
	}
	if i.Modified {
		details = append(details, "modified")
	}
	s := "devel " + short(i.Revision)
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s
}

// Semver is the version as a semantic version, which NATS's service discovery asks for: "1.2.3",
// or "0.0.0-devel+3f2a9c1b04de" for a build from a checkout.
func (i Info) Semver() string {
	if i.Version != "devel" {
		return strings.TrimPrefix(i.Version, "v")
	}
	if i.Revision == "" {
		return "0.0.0-devel"
	}
	s := "0.0.0-devel+" + short(i.Revision)
	if i.Modified {
		s += ".modified"
	}
	return s
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
