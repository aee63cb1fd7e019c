package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// listenFlag is an address a command listens on and the flag that sets it.
type listenFlag struct {
	addr string // as configured: 127.0.0.1:9324, :0, localhost:9325
	flag string // --listen
}

// explainStart turns the errors of a command's start-up that users can fix
// into one line that says how: a port already in use (which flag chooses
// another), a data directory another qscale holds (its pid, and
// --data-dir). Other errors pass unchanged.
func explainStart(err error, dataDir string, listens ...listenFlag) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return portInUse(err, listens)
	}
	if dataDir != "" && isLocked(err) {
		who := "another qscale"
		if pid := lockHolder(filepath.Join(dataDir, "LOCK")); pid > 0 {
			who += " (pid " + strconv.Itoa(pid) + ")"
		}
		return fmt.Errorf("the data dir %s is in use by %s; stop it or pass --data-dir", dataDir, who)
	}
	return err
}

// isLocked reports whether err is the store's lock held by another process.
func isLocked(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) ||
		strings.Contains(err.Error(), "another process uses it")
}

// portInUse names the busy address and the flag that moves it.
func portInUse(err error, listens []listenFlag) error {
	var oe *net.OpError
	busy := ""
	if errors.As(err, &oe) && oe.Addr != nil {
		busy = oe.Addr.String()
	}
	for _, l := range listens {
		if l.addr == "" || l.addr == "off" {
			continue
		}
		if busy == "" || sameAddr(busy, l.addr) {
			if busy == "" {
				busy = l.addr
			}
			return fmt.Errorf("%s is in use (another program listens there); choose another address with %s", busy, l.flag)
		}
	}
	if busy == "" {
		return err
	}
	return fmt.Errorf("%s is in use (another program listens there): %w", busy, err)
}

// sameAddr reports whether a bound address (127.0.0.1:9324) is the
// configured one (127.0.0.1:9324, localhost:9324, :9324).
func sameAddr(bound, configured string) bool {
	if bound == configured {
		return true
	}
	_, bp, err1 := net.SplitHostPort(bound)
	_, cp, err2 := net.SplitHostPort(configured)
	return err1 == nil && err2 == nil && bp == cp && cp != "0"
}

// lockHolder is the pid of the process that holds a lock on path, from
// /proc/locks (Linux); 0 when it cannot tell.
func lockHolder(path string) int {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	// 1: POSIX  ADVISORY  WRITE 12345 08:01:1234567 0 EOF
	want := ":" + strconv.FormatUint(st.Ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] == "->" {
			continue
		}
		if !strings.HasSuffix(fields[5], want) {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 && pid != os.Getpid() {
			return pid
		}
	}
	return 0
}
