package sqsapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/qscale/qscale/internal/webguard"
)

// browserRefusal returns why BrowserGuard refuses r, or "".
func (h *Handler) browserRefusal(r *http.Request) string {
	if !webguard.HostAllowed(r.Host, h.opts.AllowedHosts) {
		return "This endpoint answers to IP addresses, localhost and the host of its base URL only: " +
			"a request addressed to another name is refused unless access keys are configured."
	}
	return webguard.CrossSite(r)
}

// bodyError is the wire form of a failure to read the body.
func bodyError(err error) *wireError {
	var ne net.Error
	switch {
	case errors.Is(err, errBodyTooLarge):
		return &wireError{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("Request body must be no longer than %d bytes.", MaxRequestBody)}
	case errors.Is(err, errBodyMemory):
		return &wireError{Code: "ServiceUnavailable", Message: "The server is busy reading other requests; retry."}
	case errors.As(err, &ne) && ne.Timeout():
		return &wireError{Code: "RequestTimeout", Message: "Your socket connection to the server was not read from or written to within the timeout period.", status: http.StatusRequestTimeout}
	}
	return &wireError{Code: "MalformedQueryString", Message: "Could not read the request body."}
}
