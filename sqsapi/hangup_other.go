//go:build !linux

package sqsapi

// Elsewhere than on Linux each parked poll watches its connection with a
// goroutine of its own (parkedPoll.watch).

func watchHangup(p *parkedPoll) bool { return false }

func unwatchHangup(p *parkedPoll) {}
