package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	op, args string
}

// stage is one FROM … AS name and its instructions.
type stage struct {
	from, name string
	body       []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var line string
	for _, raw := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(raw)
		if line == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(trimmed, "\\"); ok {
			line += more + " "
			continue
		}
		line += trimmed
		op, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(op), strings.Join(strings.Fields(args), " ")}
		if in.op == "FROM" {
			f := strings.Fields(in.args)
			if len(f) != 3 || !strings.EqualFold(f[1], "AS") {
				t.Fatalf("FROM %s: want FROM image AS name", in.args)
			}
			stages = append(stages, stage{from: f[0], name: f[2]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM", in.op)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	return stages
}

func (s stage) all(op string) []string {
	var out []string
	for _, in := range s.body {
		if in.op == op {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerfile holds the Dockerfile to make images: the same binaries and
// build flags, the same base (CA bundle, passwd entry, user), and per image
// the same entrypoint and exposed ports.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(root(t), "Dockerfile"))
	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.name] = s
	}

	build, ok := byName["build"]
	if !ok {
		t.Fatal("no build stage")
	}
	gomod, err := os.ReadFile(filepath.Join(root(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil || build.from != "golang:"+string(goVersion[1]) {
		t.Errorf("build stage FROM %s; want golang:%s, go.mod's Go", build.from, goVersion[1])
	}
	var goBuild string
	for _, run := range build.all("RUN") {
		if strings.Contains(run, "go build") {
			goBuild = run
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w"`, "-o /out/"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("go build %q lacks %s (make images: CGO_ENABLED=0 go build %s)", goBuild, want, strings.Join(BuildFlags, " "))
		}
	}
	if !slices.Equal(BuildFlags, []string{"-trimpath", "-ldflags=-s -w"}) {
		t.Errorf("BuildFlags %q changed: update the Dockerfile's go build and this test", BuildFlags)
	}

	certs := strings.Join(byName["certs"].all("RUN"), " ")
	for _, want := range []string{
		"ca-certificates",
		"cat " + DebianCADir + "/*.crt > /base" + CABundlePath,
		"echo '" + strings.TrimSuffix(Passwd, "\n") + "' > /base" + PasswdPath,
	} {
		if !strings.Contains(certs, want) {
			t.Errorf("the certs stage does not %q", want)
		}
	}
	base, ok := byName["base"]
	if !ok || base.from != "scratch" {
		t.Fatalf("want a base stage FROM scratch; got %+v", base)
	}
	if got := base.all("COPY"); !slices.Equal(got, []string{"--from=certs /base/ /"}) {
		t.Errorf("base copies %q; want only the certs stage's /base/", got)
	}
	if got := base.all("USER"); !slices.Equal(got, []string{"10001:10001"}) {
		t.Errorf("base USER %q; want 10001:10001", got)
	}

	var finals []string
	for _, s := range stages {
		if s.from == "base" {
			finals = append(finals, s.name)
		}
	}
	var names []string
	for _, spec := range Images {
		names = append(names, spec.Name)
		s, ok := byName[spec.Name]
		if !ok || s.from != "base" {
			t.Errorf("no stage FROM base AS %s", spec.Name)
			continue
		}
		if !strings.Contains(goBuild, spec.Package) {
			t.Errorf("go build does not build %s", spec.Package)
		}
		bin := filepath.Base(spec.Package)
		if got, want := s.all("COPY"), []string{"--from=build /out/" + bin + " " + spec.Binary()}; !slices.Equal(got, want) {
			t.Errorf("%s: COPY %q; want %q", spec.Name, got, want)
		}
		var entry []string
		if e := s.all("ENTRYPOINT"); len(e) != 1 || json.Unmarshal([]byte(e[0]), &entry) != nil || !slices.Equal(entry, []string{spec.Binary()}) {
			t.Errorf("%s: ENTRYPOINT %q; want [%q]", spec.Name, e, spec.Binary())
		}
		var ports []int
		for _, e := range s.all("EXPOSE") {
			for _, f := range strings.Fields(e) {
				p, err := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
				if err != nil {
					t.Errorf("%s: EXPOSE %s", spec.Name, f)
				}
				ports = append(ports, p)
			}
		}
		if !slices.Equal(ports, spec.Ports) {
			t.Errorf("%s: EXPOSE %v; want %v", spec.Name, ports, spec.Ports)
		}
		if u := s.all("USER"); len(u) != 0 {
			t.Errorf("%s: USER %q overrides the base's", spec.Name, u)
		}
	}
	if !slices.Equal(finals, names) {
		t.Errorf("Dockerfile image stages %q; want %q, the images of make images in order", finals, names)
	}
}
