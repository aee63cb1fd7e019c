package config

import (
	"fmt"
	"net"
	"os"
)

// AutoscaleConsole is `qscale autoscale`'s operator console, set by its
// flags (--console, --console-token) and ConsoleTokenEnv.
type AutoscaleConsole struct {
	// Listen is host:port, or "off"; default DefaultAutoscaleConsole.
	Listen string
	// Token protects /metrics and the dashboard; required beyond
	// loopback.
	Token string
}

// WithDefaults returns c with the default listen address, and the token
// from ConsoleTokenEnv when none was given.
func (c AutoscaleConsole) WithDefaults() AutoscaleConsole {
	setString(&c.Listen, DefaultAutoscaleConsole)
	if c.Token == "" {
		c.Token = os.Getenv(ConsoleTokenEnv)
	}
	return c
}

// Off reports whether the console is turned off.
func (c AutoscaleConsole) Off() bool { return c.Listen == "off" }

// Validate checks the address, and that a console reachable beyond this
// machine has a token; errors name the flag.
func (c AutoscaleConsole) Validate() error {
	if c.Off() {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Listen)
	switch {
	case err != nil:
		return fe("--console", "%q: want host:port or off", c.Listen)
	case !isLoopback(host) && c.Token == "":
		return fe("--console-token", "is required when the console listens on %s, beyond this machine (or set %s)", c.Listen, ConsoleTokenEnv)
	}
	return nil
}

// String is the console's state for logs and --check.
func (c AutoscaleConsole) String() string {
	if c.Off() || c.Listen == "" {
		return "off"
	}
	if c.Token != "" {
		return fmt.Sprintf("http://%s (token)", c.Listen)
	}
	return "http://" + c.Listen
}
