package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/shell"
)

// Target is one server under test, described by a -target flag.
type Target struct {
	Name  string // column name in the table
	URL   string // base URL, e.g. http://127.0.0.1:3001
	PID   int    // server process, for CPU and RSS (0: not measured)
	Grant string // shell command template that makes {email} a PDG
	Start string // optional shell command that starts the server (the bench stops it afterwards)
	DBURL string // optional PostgreSQL URL, to read the stored password hash parameters
	DBPID int    // optional postmaster pid, for the database's CPU
	Hash  string // optional label for the password hashing parameters (overrides what DBURL finds)

	cmd *exec.Cmd
}

// targetKeys are the keys a -target spec accepts after its first name[=URL] element.
var targetKeys = []string{"url", "pid", "grant", "env", "start", "db", "dbpid", "hash"}

// parseTarget parses "name=URL,pid=PID,grant=CMD {email},..." (or "name,env=FILE,..."). Values may hold commas:
// the spec is split only before ",key=" for the keys in targetKeys. An env file (as written by the Node peer's
// start.sh: BASE_URL, SERVER_PID, GRANT_PDG_CMD, DATABASE_URL, DB_PID) gives defaults that explicit keys override.
// It returns an error if the spec has no name, an unknown key, a bad number, no URL or no grant command.
func parseTarget(spec string) (Target, error) {
	var cuts []int
	for _, k := range targetKeys {
		for off := 0; ; {
			i := strings.Index(spec[off:], ","+k+"=")
			if i < 0 {
				break
			}
			cuts = append(cuts, off+i)
			off += i + 1
		}
	}
	sort.Ints(cuts)
	parts := make([]string, 0, len(cuts)+1)
	prev := 0
	for _, c := range cuts {
		parts = append(parts, spec[prev:c])
		prev = c + 1
	}
	parts = append(parts, spec[prev:])

	var t Target
	name, u, _ := strings.Cut(parts[0], "=")
	t.Name, t.URL = strings.TrimSpace(name), strings.TrimSpace(u)
	if t.Name == "" {
		return t, fmt.Errorf("target %q: no name", spec)
	}
	kv := map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		kv[k] = v
	}
	if f, ok := kv["env"]; ok {
		b, err := os.ReadFile(f)
		if err != nil {
			return t, fmt.Errorf("target %s: %w", t.Name, err)
		}
		env := parseEnvFile(string(b))
		for ek, k := range map[string]string{"BASE_URL": "url", "SERVER_PID": "pid", "GRANT_PDG_CMD": "grant",
			"DATABASE_URL": "db", "DB_PID": "dbpid"} {
			if _, set := kv[k]; !set && env[ek] != "" {
				kv[k] = env[ek]
			}
		}
		if t.URL == "" {
			t.URL = kv["url"]
		}
	}
	if v, ok := kv["url"]; ok && t.URL == "" {
		t.URL = v
	}
	t.Grant, t.Start, t.DBURL, t.Hash = kv["grant"], kv["start"], kv["db"], kv["hash"]
	for _, f := range []struct {
		key string
		dst *int
	}{{"pid", &t.PID}, {"dbpid", &t.DBPID}} {
		if v := kv[f.key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return t, fmt.Errorf("target %s: %s=%q: not a number", t.Name, f.key, v)
			}
			*f.dst = n
		}
	}
	t.URL = strings.TrimRight(t.URL, "/")
	if _, err := url.ParseRequestURI(t.URL); err != nil || t.URL == "" {
		return t, fmt.Errorf("target %s: bad or missing URL %q", t.Name, t.URL)
	}
	if t.Grant == "" {
		return t, fmt.Errorf("target %s: no grant command (grant='CMD {email}')", t.Name)
	}
	if !strings.Contains(t.Grant, "{email}") {
		return t, fmt.Errorf("target %s: grant command has no {email}", t.Name)
	}
	return t, nil
}

// parseEnvFile parses KEY=VALUE lines; a value wrapped in double or single quotes loses them.
func parseEnvFile(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[strings.TrimSpace(k)] = v
	}
	return m
}

// grantPDG runs the grant command for email. It returns an error with the command's output if it fails.
func (t *Target) grantPDG(ctx context.Context, email string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // `go run` may compile first
	defer cancel()
	cmdline := strings.ReplaceAll(t.Grant, "{email}", shell.Quote(email))
	out, err := exec.CommandContext(ctx, "sh", "-c", cmdline).CombinedOutput()
	if err != nil {
		return fmt.Errorf("grant %q: %w: %s", cmdline, err, bytes.TrimSpace(out))
	}
	return nil
}

// startServer runs t.Start (in its own process group, PORT set from the URL unless the command sets it), waits
// until the URL answers HTTP, and sets t.PID to the serving process. It returns an error if the server does not
// answer within 3 minutes or exits.
// The server writes its output to logf, which startServer closes.
func (t *Target) startServer(ctx context.Context, logf *os.File) error {
	defer logf.Close()
	if resp, err := http.Get(t.URL + "/api/users/me"); err == nil {
		resp.Body.Close()
		return fmt.Errorf("something already answers at %s: not starting a second server there", t.URL)
	}
	cmd := exec.Command("sh", "-c", t.Start)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if u, err := url.Parse(t.URL); err == nil && u.Port() != "" {
		cmd.Env = append(cmd.Env, "PORT="+u.Port())
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	t.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("server exited (%v), log %s", err, logf.Name())
		case <-deadline:
			return fmt.Errorf("server did not answer at %s within 3 minutes, log %s", t.URL, logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(t.URL + "/api/users/me")
		if err == nil {
			resp.Body.Close()
			if t.PID == 0 {
				t.PID = resolveServerPID(cmd.Process.Pid)
			}
			return nil
		}
	}
}

// stopServer stops what startServer started: SIGTERM to its process group, SIGKILL after 10 s.
func (t *Target) stopServer() {
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	pgid := t.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	for range 100 {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
