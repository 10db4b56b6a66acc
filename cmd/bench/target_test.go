package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseTarget(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "peer.env")
	err := os.WriteFile(envFile, []byte(`BASE_URL=http://127.0.0.1:3192
SERVER_PID=11851
DB_PID=11708
DATABASE_URL=postgresql://postgres@127.0.0.1:55492/bench
GRANT_PDG_CMD="DATABASE_URL='postgresql://postgres@127.0.0.1:55492/bench' node '/tmp/app/grant-pdg.js' {email}"
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec string
		want Target
	}{
		{
			name: "url pid grant",
			spec: "go=http://127.0.0.1:3301/,pid=42,grant=go run ./cmd/server grant-pdg {email}",
			want: Target{Name: "go", URL: "http://127.0.0.1:3301", PID: 42, Grant: "go run ./cmd/server grant-pdg {email}"},
		},
		{
			name: "commas inside a value stay",
			spec: "go=http://h:1,grant=sh -c 'a,b {email}',start=X=1,Y=2 go run ./cmd/server,dbpid=7",
			want: Target{Name: "go", URL: "http://h:1", Grant: "sh -c 'a,b {email}'", Start: "X=1,Y=2 go run ./cmd/server",
				DBPID: 7},
		},
		{
			name: "env file",
			spec: "node,env=" + envFile,
			want: Target{Name: "node", URL: "http://127.0.0.1:3192", PID: 11851, DBPID: 11708,
				DBURL: "postgresql://postgres@127.0.0.1:55492/bench",
				Grant: "DATABASE_URL='postgresql://postgres@127.0.0.1:55492/bench' node '/tmp/app/grant-pdg.js' {email}"},
		},
		{
			name: "explicit keys override the env file",
			spec: "node=http://other:1,env=" + envFile + ",pid=5,hash=bcrypt 10",
			want: Target{Name: "node", URL: "http://other:1", PID: 5, DBPID: 11708, Hash: "bcrypt 10",
				DBURL: "postgresql://postgres@127.0.0.1:55492/bench",
				Grant: "DATABASE_URL='postgresql://postgres@127.0.0.1:55492/bench' node '/tmp/app/grant-pdg.js' {email}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTarget(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseTarget(%q)\n got %+v\nwant %+v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseTargetErrors(t *testing.T) {
	for _, spec := range []string{
		"=http://h:1,grant=x {email}",        // no name
		"go,grant=x {email}",                 // no URL
		"go=http://h:1",                      // no grant
		"go=http://h:1,grant=no placeholder", // grant without {email}
		"go=http://h:1,grant=x {email},pid=abc",
		"go=http://h:1,grant=x {email},env=/nonexistent/file",
	} {
		if _, err := parseTarget(spec); err == nil {
			t.Errorf("parseTarget(%q): no error", spec)
		}
	}
}
