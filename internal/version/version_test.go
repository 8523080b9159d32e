package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "3f2a9c1b04de5566778899aabbccddeeff001122"}, {Key: "vcs.time", Value: "2026-11-30T14:47:15Z"}, {Key: "vcs.modified", Value: "true"}}
	cases := []struct {
		name         string
		bi           debug.BuildInfo
		text, semver string
	}{
		{"go install ...@v1.2.3", debug.BuildInfo{Main: debug.Module{Path: Module, Version: "v1.2.3"}}, "v1.2.3", "1.2.3"},
		{"xcaddy, published", debug.BuildInfo{Main: debug.Module{Path: "caddy"}, Deps: []*debug.Module{{Path: Module, Version: "v0.4.0"}}}, "v0.4.0", "0.4.0"},
		{"xcaddy, from a checkout", debug.BuildInfo{Main: debug.Module{Path: "caddy"}, Deps: []*debug.Module{{Path: Module, Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "/src/msgscript"}}}}, "devel", "0.0.0-devel"},
		{"go build in a checkout", debug.BuildInfo{Main: debug.Module{Path: Module, Version: "(devel)"}, Settings: vcs}, "devel 3f2a9c1b04de (2026-11-30T14:47:15Z, modified)", "0.0.0-devel+3f2a9c1b04de.modified"},
	}
	for _, c := range cases {
		info := fromBuildInfo(&c.bi)
		if info.String() != c.text || info.Semver() != c.semver {
			t.Errorf("%s: %q / %q, want %q / %q", c.name, info, info.Semver(), c.text, c.semver)
		}
	}
}
