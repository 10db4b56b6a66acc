package shell_test

import (
	"os/exec"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/shell"
)

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `$HOME "x" \n; rm -rf /`, "''"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shell.Quote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != s {
			t.Errorf("sh read %s as %q, want %q", shell.Quote(s), out, s)
		}
	}
}
