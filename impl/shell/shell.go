// Package shell quotes words for a POSIX shell (/bin/sh), for command lines that a shell runs.
package shell

import "strings"

// Quote returns s as one single-quoted word of /bin/sh, whatever it holds.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
