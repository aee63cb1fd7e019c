package workerstatus

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with r atomically: the document is written to a
// temporary file in the same directory, then renamed, so a reader never
// sees half of one.
func WriteFile(path string, r Report) error {
	b, err := r.Encode()
	if err != nil {
		return fmt.Errorf("status file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".qscale-status-*")
	if err != nil {
		return fmt.Errorf("status file: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("status file: %w", err)
	}
	return nil
}

// ReadFile reads and checks the document in path.
func ReadFile(path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("status file: %w", err)
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return Report{}, fmt.Errorf("status file %s: %w", path, err)
	}
	return r, nil
}
