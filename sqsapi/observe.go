package sqsapi

import (
	"sort"
	"time"
)

// Observer is told of every request once it is answered: its action (as
// the client named it, "" when it named none), the SQS error code it was
// refused with ("" on success) and how long it took. It is called on the
// request's goroutine, so it must be quick and safe for concurrent use.
type Observer interface {
	ObserveRequest(action, code string, elapsed time.Duration)
}

// Actions returns the names of the actions the handler knows, sorted: the
// bounded set an Observer may pre-resolve its metrics for (a client may
// name any other action; it is refused).
func Actions() []string {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
