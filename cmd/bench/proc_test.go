package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// The command name holds a space and a parenthesis: fields are counted from the last ')'.
	stat := "1234 (node (x) y) S 99 1234 1234 0 -1 4194560 1000 0 0 0 250 50 7 3 20 0 11 0 100 1000 2000\n"
	got, err := parseStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	want := procTimes{ppid: 99, utime: 250, stime: 50, cutime: 7, cstime: 3}
	if got != want {
		t.Errorf("parseStat = %+v, want %+v", got, want)
	}
	if _, err := parseStat([]byte("garbage")); err == nil {
		t.Error("parseStat(garbage): no error")
	}
	if ticks(250+50) != 3*time.Second {
		t.Errorf("ticks(300) = %v, want 3s", ticks(300))
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS([]byte("Name:\tnode\nVmHWM:\t  99999 kB\nVmRSS:\t   86496 kB\nThreads: 11\n"))
	if err != nil || got != 86496*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 86496*1024)
	}
	if _, err := parseVmRSS([]byte("Name:\tkthreadd\n")); err == nil {
		t.Error("no VmRSS line: no error")
	}
}

func TestSelfProcess(t *testing.T) {
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Errorf("processCPU(self): %v", err)
	}
	if rss, err := processRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("processRSS(self) = %d, %v", rss, err)
	}
	if resolveServerPID(os.Getpid()) != os.Getpid() {
		t.Error("resolveServerPID changed a non-wrapper pid")
	}
}

func TestHashParams(t *testing.T) {
	tests := []struct{ hash, want string }{
		{"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "bcrypt cost 10"},
		{"$2b$12$abc", "bcrypt cost 12"},
		{"$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", "argon2id v=19 m=65536,t=3,p=2"},
		{"$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA", "scrypt ln=15,r=8,p=1"},
		{"plain", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := hashParams(tt.hash); got != tt.want {
				t.Errorf("hashParams(%q) = %q, want %q", tt.hash, got, tt.want)
			}
		})
	}
}
