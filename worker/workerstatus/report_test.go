package workerstatus_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qscale/qscale/worker/workerstatus"
)

// Readers accept version 1 only, and say why they refuse a document.
func TestDecodeChecksVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc     string
		wantErr error
		say     string
	}{
		{`{"version":1,"state":"idle","in_flight":0}`, nil, ""},
		{`{"version":1,"state":"busy","in_flight":2,"added_in_a_later_minor":true}`, nil, ""},
		{`{"version":2,"state":"idle"}`, workerstatus.ErrVersion, "version 2, this qscale reads version 1"},
		{`{"state":"idle"}`, workerstatus.ErrVersion, "version 0"},
		{`{"version":1,"state":"sleeping"}`, workerstatus.ErrState, `"sleeping"`},
		{`{"version":1,"state":""}`, workerstatus.ErrState, `""`},
		{`<html>`, workerstatus.ErrDocument, "not a worker status document"},
		{`{"version":"1"}`, workerstatus.ErrDocument, "cannot unmarshal"},
		{``, workerstatus.ErrDocument, "EOF"},
	} {
		rep, err := workerstatus.Parse([]byte(tc.doc))
		switch {
		case tc.wantErr == nil && err != nil:
			t.Errorf("%s: %v", tc.doc, err)
		case tc.wantErr == nil && rep.Version != 1:
			t.Errorf("%s: decoded %+v", tc.doc, rep)
		case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.say)):
			t.Errorf("%s: error %v, want %v saying %q", tc.doc, err, tc.wantErr, tc.say)
		}
	}
}

// The status file is replaced whole and read back checked.
func TestStatusFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w1.json")
	want := report(workerstatus.Busy, 0, 2)
	want.StatusAddr = "127.0.0.1:4242"
	if err := workerstatus.WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := workerstatus.ReadFile(path)
	if err != nil || got.State != want.State || got.InFlight != 2 || got.StatusAddr != want.StatusAddr || !got.Since.Equal(want.Since) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left beside the status file: %v", entries)
	}
	if err := os.WriteFile(path, []byte(`{"version":3,"state":"idle"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := workerstatus.ReadFile(path); !errors.Is(err, workerstatus.ErrVersion) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a version 3 file: %v, want ErrVersion naming the file", err)
	}
	if _, err := workerstatus.ReadFile(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
	if err := workerstatus.WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir.json"), want); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

// FuzzDecode: any bytes give a checked document or an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"state":"idle","since":"2026-11-23T20:12:06.844Z","in_flight":0}`))
	f.Add([]byte(`{"version":1,"state":"busy","in_flight":3,"app":{"pid":1}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := workerstatus.Parse(b)
		if err != nil {
			return
		}
		if rep.Check() != nil {
			t.Fatalf("Parse accepted %q, which Check refuses", b)
		}
		again, err := rep.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := workerstatus.Parse(again); err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", again, err)
		}
	})
}
