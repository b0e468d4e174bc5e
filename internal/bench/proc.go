package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Memory is a process's resident set in bytes.
type Memory struct {
	RSS  uint64 // VmRSS: resident now
	Peak uint64 // VmHWM: the high-water mark since start or the last ResetPeak
}

// ReadMemory reads VmRSS and VmHWM from /proc/<pid>/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		var dst *uint64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.Peak
		default:
			continue
		}
		f := bytes.Fields(line[6:])
		if len(f) < 1 {
			continue
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
		}
		*dst = kb * 1024
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return m, nil
}

// ProcessCPU returns the user+system CPU time of process pid so far, from
// /proc/<pid>/stat (in USER_HZ ticks, 10 ms on Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; fields after it
	// start at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	const userHZ = 100
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// SelfCPU returns this process's user+system CPU time so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ResetPeak sets the process's VmHWM back to its current RSS (Linux 4.0+,
// "5" written to /proc/<pid>/clear_refs), so the next reading is the peak
// of what follows.
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// PeakWatch follows a process's peak RSS over one phase: it resets VmHWM
// (when the kernel allows it) and also samples VmRSS, so the peak is known
// even where clear_refs is not writable.
type PeakWatch struct {
	pid     int
	reset   bool
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	sampled uint64
}

// WatchPeak starts watching pid.
func WatchPeak(pid int, every time.Duration) *PeakWatch {
	w := &PeakWatch{pid: pid, stop: make(chan struct{})}
	w.reset = ResetPeak(pid) == nil
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *PeakWatch) sample() {
	if m, err := ReadMemory(w.pid); err == nil {
		w.mu.Lock()
		w.sampled = max(w.sampled, m.RSS)
		if w.reset {
			w.sampled = max(w.sampled, m.Peak)
		}
		w.mu.Unlock()
	}
}

// Stop ends the watch and returns the peak RSS in bytes.
func (w *PeakWatch) Stop() uint64 {
	close(w.stop)
	w.done.Wait()
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sampled
}
