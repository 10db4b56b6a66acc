// Package scripts holds no Go code: its tests run scripts/check-breaking.sh, the breaking-change
// gate of the contracts, on the fixtures under testdata/breaking.
package scripts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckBreakingFixtures(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (make deps)")
	}
	if _, err := os.Stat("../tools/npm/node_modules/@asyncapi/diff"); err != nil {
		t.Skip("tools/npm has no node_modules: run make deps")
	}
	for _, tc := range []struct {
		kind, fixture string
		fail          bool
		want          string // in the output
	}{
		{"openapi", "removed-field", true, "response-required-property-removed"},
		{"openapi", "narrowed-enum", true, "request-property-enum-value-removed"},
		{"openapi", "new-required-request-field", true, "new-required-request-property"},
		{"openapi", "added-optional-field", false, "no breaking change"},
		{"openapi", "removed-field-major-raised", false, "major was raised (1.4.0 -> 2.0.0)"},
		{"openapi", "removed-field-minor-raised", true, "BREAKING"},

		{"asyncapi", "removed-field", true, `event "item:created" (server to client): field name removed`},
		{"asyncapi", "narrowed-enum", true, `field kind lost the enum value(s) "service"`},
		{"asyncapi", "new-required-request-field", true, `event "item:create" (client to server): new required field price`},
		{"asyncapi", "renamed-event", true, `event "item:created" removed or renamed`},
		{"asyncapi", "added-optional-field", false, "no breaking change"},
		{"asyncapi", "removed-field-major-raised", false, "major was raised (1.4.0 -> 2.0.0)"},
		{"asyncapi", "removed-field-minor-raised", true, "BREAKING"},
		{"asyncapi", "new-required-sent-field", false, "no breaking change"},
		{"asyncapi", "renamed-message-key", false, "no breaking change"},
	} {
		t.Run(tc.kind+"/"+tc.fixture, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", "breaking", tc.kind)
			cmd := exec.Command("bash", "check-breaking.sh", tc.kind, filepath.Join(dir, "base.yaml"), filepath.Join(dir, tc.fixture+".yaml"))
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err == nil && tc.fail:
				t.Errorf("the gate passed; want it to fail:\n%s", out)
			case err != nil && !errors.As(err, &exit):
				t.Fatalf("%v:\n%s", err, out)
			case err != nil && exit.ExitCode() != 1:
				t.Errorf("exit %d (the comparison did not run):\n%s", exit.ExitCode(), out)
			case err != nil && !tc.fail:
				t.Errorf("the gate failed; want it to pass:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output has no %q:\n%s", tc.want, out)
			}
		})
	}
}

// A document that does not parse is an error (exit 2), not a pass and not a breaking change.
func TestCheckBreakingInvalidInput(t *testing.T) {
	if _, err := os.Stat("../tools/npm/node_modules/@asyncapi/diff"); err != nil {
		t.Skip("tools/npm has no node_modules: run make deps")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("info: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"openapi", "asyncapi"} {
		out, err := exec.Command("bash", "check-breaking.sh", kind, filepath.Join("testdata", "breaking", kind, "base.yaml"), bad).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%s: err %v, want exit 2:\n%s", kind, err, out)
		}
	}
}
