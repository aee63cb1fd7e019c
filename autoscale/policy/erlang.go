package policy

import "math"

// ErlangC is the probability that an arrival waits in an M/M/c queue with c
// servers and offered load a = arrival rate × mean service time (Erlang C).
// It is 1 when c <= a (the queue grows without bound).
func ErlangC(c int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(c) <= a {
		return 1
	}
	// Erlang B by the stable recurrence B(k) = a B(k-1) / (k + a B(k-1)),
	// then C = B / (1 - ρ (1 - B)).
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho*(1-b))
}

// WaitTail is P(wait > t) in an M/M/c queue: C(c, a) × e^-(cμ - λ)t, with
// λ the arrival rate (messages per second) and service the mean time one
// server spends on one message (seconds).
func WaitTail(c int, lambda, service, t float64) float64 {
	if lambda <= 0 {
		return 0
	}
	a := lambda * service
	if float64(c) <= a {
		return 1
	}
	return ErlangC(c, a) * math.Exp(-(float64(c)/service-lambda)*t)
}

// SteadyServers is the smallest c at which the M/M/c waiting time stays
// under wait with probability at least quantile (0.99: p99 wait <= wait)
// and the utilisation a/c is at most maxUtil. It is 0 for no arrivals and
// at most limit.
func SteadyServers(lambda, service, wait, quantile, maxUtil float64, limit int) int {
	if lambda <= 0 || service <= 0 {
		return 0
	}
	a := lambda * service
	c := max(1, int(math.Floor(a))+1)
	if maxUtil > 0 && maxUtil < 1 {
		c = max(c, ceil(a/maxUtil))
	}
	for ; c < limit; c++ {
		if WaitTail(c, lambda, service, wait) <= 1-quantile {
			return c
		}
	}
	return limit
}
