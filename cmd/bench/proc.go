package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on Linux).
const userHZ = 100

// procTimes holds the CPU fields of /proc/PID/stat.
type procTimes struct {
	ppid                         int
	utime, stime, cutime, cstime int64 // clock ticks
}

// parseStat parses the content of /proc/PID/stat. The command name may hold spaces and parentheses, so fields are
// counted from the last ')'. It returns an error if the content is malformed.
func parseStat(b []byte) (procTimes, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return procTimes{}, fmt.Errorf("malformed stat %q", b)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); ppid is field 4, utime..cstime are fields 14..17.
	if len(f) < 15 {
		return procTimes{}, fmt.Errorf("short stat %q", b)
	}
	var t procTimes
	var err error
	nums := []*int64{&t.utime, &t.stime, &t.cutime, &t.cstime}
	for k, p := range nums {
		if *p, err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return procTimes{}, fmt.Errorf("stat field %d: %w", 14+k, err)
		}
	}
	if t.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procTimes{}, fmt.Errorf("stat ppid: %w", err)
	}
	return t, nil
}

func readStat(pid int) (procTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procTimes{}, err
	}
	return parseStat(b)
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// processCPU returns the user+system CPU time of pid (all its threads).
func processCPU(pid int) (time.Duration, error) {
	t, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return ticks(t.utime + t.stime), nil
}

// treeCPU returns the CPU time of pid, of its reaped children and of its living children: for a PostgreSQL
// postmaster, the whole cluster's CPU.
func treeCPU(pid int) (time.Duration, error) {
	t, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := t.utime + t.stime + t.cutime + t.cstime
	for _, c := range children(pid) {
		if ct, err := readStat(c); err == nil {
			total += ct.utime + ct.stime
		}
	}
	return ticks(total), nil
}

// children returns the pids of the living children of pid.
func children(pid int) []int {
	var out []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// parseVmRSS returns VmRSS in bytes from the content of /proc/PID/status.
func parseVmRSS(b []byte) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// processRSS returns the resident set size of pid in bytes.
func processRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

func processComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// resolveServerPID follows wrappers (sh, bash, env, `go run`) down to the process that does the work: while pid is
// a wrapper with exactly one child, it descends to that child.
func resolveServerPID(pid int) int {
	for range 5 {
		switch processComm(pid) {
		case "sh", "bash", "dash", "env", "go":
		default:
			return pid
		}
		c := children(pid)
		if len(c) != 1 {
			return pid
		}
		pid = c[0]
	}
	return pid
}

// selfCPU returns the user+system CPU time of the bench process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit raises the soft open-file limit to the hard limit and returns the new soft limit.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// machine describes the host in one line: CPU model, cores, kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	kernel := ""
	if syscall.Uname(&u) == nil {
		var sb strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			sb.WriteByte(byte(c))
		}
		kernel = "Linux " + sb.String()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s", model, runtime.NumCPU(), mem, kernel)
}

// loadAverage returns the 1, 5 and 15 minute load averages from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
