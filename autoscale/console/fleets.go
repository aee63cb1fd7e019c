package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
)

// FleetLink is one fleet in a console's index of fleets.
type FleetLink struct {
	// Name is the fleet's; its dashboard is at /fleets/NAME/ and its
	// decisions at /fleets/NAME/api/decisions.
	Name string `json:"name"`
	// Kind is the fleet's kind (local, ecs, ...), Queues its queues.
	Kind   string   `json:"kind"`
	Queues []string `json:"queues"`
	// Dashboard is the path of the fleet's dashboard.
	Dashboard string `json:"dashboard"`
}

// FleetPath is the path under which the named fleet's dashboard and API
// are served: /fleets/NAME/.
func FleetPath(name string) string { return "/fleets/" + url.PathEscape(name) + "/" }

// FleetIndex serves the list of fleets: JSON (GET /api/fleets, or any
// request that accepts application/json) or a page of links (GET
// /fleets/). The dashboard at / is the first fleet's.
func FleetIndex(fleets []FleetLink) http.Handler {
	for i := range fleets {
		fleets[i].Dashboard = FleetPath(fleets[i].Name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/api/fleets" || r.Header.Get("Accept") == "application/json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(struct {
				Fleets []FleetLink `json:"fleets"`
			}{fleets})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, fleets)
	})
}

var indexPage = template.Must(template.New("fleets").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qscale: fleets</title></head>
<body><h1>Fleets</h1>
<table><thead><tr><th>Fleet</th><th>Kind</th><th>Queues</th></tr></thead><tbody>
{{range .}}<tr><td><a href="{{.Dashboard}}">{{.Name}}</a></td><td>{{.Kind}}</td><td>{{range $i, $q := .Queues}}{{if $i}}, {{end}}{{$q}}{{end}}</td></tr>
{{end}}</tbody></table></body></html>
`))

// MountFleets adds to mux, for each fleet, its handler under FleetPath,
// and the index at /fleets/ and /api/fleets behind guard.
func MountFleets(mux *http.ServeMux, links []FleetLink, handlers []http.Handler, guard func(http.Handler) http.Handler) {
	index := guard(FleetIndex(links))
	mux.Handle("GET /fleets/{$}", index)
	mux.Handle("GET /api/fleets", index)
	for i, l := range links {
		p := FleetPath(l.Name)
		mux.Handle(p, http.StripPrefix(p[:len(p)-1], handlers[i]))
	}
}
