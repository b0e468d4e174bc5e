package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a measurement ran.
type Machine struct {
	CPUs     int    // runtime.NumCPU (nproc)
	CPUModel string // from /proc/cpuinfo
	MemTotal uint64 // bytes, from /proc/meminfo
	Kernel   string
	Go       string
	Commit   string // short commit, with "+dirty" when the tree has changes
}

// DescribeMachine gathers the facts; dir is the repository directory for
// the commit.
func DescribeMachine(dir string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPUModel: "unknown", Commit: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				m.MemTotal = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	if c, err := git("rev-parse", "--short=12", "HEAD"); err == nil && c != "" {
		m.Commit = c
		if st, err := git("status", "--porcelain"); err == nil && st != "" {
			m.Commit += "+dirty"
		}
	}
	return m
}
