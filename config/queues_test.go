package config_test

import (
	"strings"
	"testing"

	"github.com/qscale/qscale/config"
)

func TestParseQueues(t *testing.T) {
	t.Parallel()
	qs, err := config.ParseQueues([]byte("queues:\n  - name: a\n    attributes: {VisibilityTimeout: 30}\n    tags: {team: x}\n  - name: b\n"))
	if err != nil || len(qs) != 2 || qs[0].Attributes["VisibilityTimeout"] != "30" || qs[0].Tags["team"] != "x" || qs[1].Name != "b" {
		t.Fatalf("ParseQueues = %+v, %v", qs, err)
	}
	for doc, want := range map[string]string{
		"queues: [{name: a}, {nam: b}]":        "queues[1].nam: unknown field",
		"queues: [{name: a}, {}, {name: a}]":   `queues[2].name: "a" is listed twice`,
		"queues: [{name: a}, {tags: {k: v}}]":  "queues[1].name: is required",
		"queues: [{name: a, attributes: [x]}]": "queues[0].attributes: want a mapping",
	} {
		if _, err := config.ParseQueues([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// FuzzParseQueues: any file is an error or a list of named, distinct
// queues; never a panic.
func FuzzParseQueues(f *testing.F) {
	for _, s := range []string{
		"queues: [{name: a, attributes: {RedrivePolicy: '{\"deadLetterTargetArn\":\"b\"}'}}, {name: b}]",
		"queues: {name: a}", "queues: [{name: a}, {name: a}]", "{}", "", "queues: [&x {name: a}, *x]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := config.ParseQueues(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, q := range qs {
			if q.Name == "" || seen[q.Name] {
				t.Fatalf("accepted %q: %+v", data, qs)
			}
			seen[q.Name] = true
		}
	})
}
