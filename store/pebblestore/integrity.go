package pebblestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/record"
)

// ErrDamaged is wrapped by the error of Open or Load when the store's
// files are damaged: a table whose checksum fails, a missing or shortened
// file, a write-ahead log with valid records after a damaged one. qscale
// refuses to start on a damaged store rather than serve part of it; Repair
// (qscale server --repair) rebuilds it from what can be read.
var ErrDamaged = errors.New("the store is damaged")

// DamageError says what is damaged.
type DamageError struct {
	Dir    string
	Damage []string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%v: %s: %s (start with --repair to rebuild it from what can still be read; the damaged files are kept)",
		ErrDamaged, e.Dir, strings.Join(e.Damage, "; "))
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

func damagedError(dir string, damage []string) error {
	return &DamageError{Dir: dir, Damage: damage}
}

// cleanRecordName is the file a clean Close leaves: the size and checksum
// of every file Pebble keeps, and the number of messages. Open compares the
// directory with it, and removes it before Pebble changes anything, so a
// record always describes a store that was shut down cleanly and not
// touched since. After a crash there is no record, and a torn tail of the
// last write-ahead log or MANIFEST is what a crash leaves: Pebble drops it,
// as it should (those writes were never acknowledged).
const cleanRecordName = "QSCALE-CLEAN"

type cleanRecord struct {
	Messages int64               `json:"messages"`
	Files    map[string]fileMark `json:"files"`
}

type fileMark struct {
	Size int64  `json:"size"`
	CRC  uint32 `json:"crc,omitempty"` // of small files (not tables: Pebble checksums every table block)
}

// fileKind names the kind of a file of a Pebble directory.
func fileKind(name string) string {
	switch {
	case name == "CURRENT":
		return "current"
	case strings.HasPrefix(name, "MANIFEST-"):
		return "manifest"
	case strings.HasPrefix(name, "OPTIONS-"):
		return "options"
	case strings.HasSuffix(name, ".sst"):
		return "table"
	case strings.HasSuffix(name, ".log"):
		return "wal"
	}
	return ""
}

// writeCleanRecord records messages and, withFiles, every file of dir.
func writeCleanRecord(dir string, messages int64, withFiles bool) error {
	rec := cleanRecord{Messages: messages, Files: map[string]fileMark{}}
	ents, err := os.ReadDir(dir)
	if !withFiles {
		ents = nil
	}
	if err != nil {
		return fmt.Errorf("pebblestore: record clean shutdown: %w", err)
	}
	for _, e := range ents {
		kind := fileKind(e.Name())
		if kind == "" {
			continue
		}
		m, err := markFile(filepath.Join(dir, e.Name()), kind != "table")
		if err != nil {
			return fmt.Errorf("pebblestore: record clean shutdown: %w", err)
		}
		rec.Files[e.Name()] = m
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, cleanRecordName), b); err != nil {
		return fmt.Errorf("pebblestore: record clean shutdown: %w", err)
	}
	return nil
}

func markFile(path string, withCRC bool) (fileMark, error) {
	if !withCRC {
		fi, err := os.Stat(path)
		if err != nil {
			return fileMark{}, err
		}
		return fileMark{Size: fi.Size()}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fileMark{}, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileMark{}, err
	}
	return fileMark{Size: n, CRC: h.Sum32()}, nil
}

func readCleanRecord(dir string) (*cleanRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, cleanRecordName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pebblestore: %w", err)
	}
	var rec cleanRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("pebblestore: %s: %w", cleanRecordName, err)
	}
	return &rec, nil
}

func forgetCleanRecord(dir string) error {
	err := os.Remove(filepath.Join(dir, cleanRecordName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("pebblestore: %w", err)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// checkDir looks for damage before Pebble opens dir, and returns what it
// found, one line each:
//   - CURRENT missing while other files of a database are there (Pebble
//     would otherwise start an empty database over them, or panic);
//   - after a clean shutdown, any file that changed, shrank or went away
//     since (a truncated MANIFEST, for one, would make Pebble forget
//     tables and delete them as obsolete);
//   - a write-ahead log with valid records after a damaged one: damage in
//     the middle, not the torn tail a crash leaves (Pebble would replay up
//     to the damage and silently drop the rest).
func checkDir(dir string) (dirDamage, error) {
	var found dirDamage
	ents, err := os.ReadDir(dir)
	if err != nil {
		return found, fmt.Errorf("pebblestore: %w", err)
	}
	var damage []string
	have := map[string]bool{}
	var wals []string
	dbFiles := false
	for _, e := range ents {
		kind := fileKind(e.Name())
		have[e.Name()] = true
		switch kind {
		case "manifest", "table", "wal":
			dbFiles = true
		}
		if kind == "wal" {
			wals = append(wals, e.Name())
		}
	}
	if dbFiles && !have["CURRENT"] {
		damage = append(damage, "CURRENT is missing")
	}
	rec, err := readCleanRecord(dir)
	if err != nil {
		return found, err
	}
	if rec != nil {
		names := make([]string, 0, len(rec.Files))
		for n := range rec.Files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			want := rec.Files[name]
			if !have[name] {
				if name != "CURRENT" || !dbFiles {
					damage = append(damage, name+" is missing")
				}
				continue
			}
			kind := fileKind(name)
			got, err := markFile(filepath.Join(dir, name), kind != "table")
			if err != nil {
				damage = append(damage, fmt.Sprintf("%s cannot be read: %v", name, err))
				continue
			}
			switch {
			case got.Size < want.Size:
				damage = append(damage, fmt.Sprintf("%s is truncated (%d of %d bytes)", name, got.Size, want.Size))
			case got != want:
				damage = append(damage, fmt.Sprintf("%s changed since the last clean shutdown", name))
			}
		}
	}
	sort.Strings(wals)
	for _, name := range wals {
		w, err := scanWAL(filepath.Join(dir, name))
		if err != nil {
			return found, err
		}
		if w.lostBatches > 0 {
			found.lostOps += w.lostOps
			damage = append(damage, fmt.Sprintf("write-ahead log %s is damaged at byte %d: %d later write batches (%d operations) cannot be replayed",
				name, w.damagedAt, w.lostBatches, w.lostOps))
		}
	}
	found.lines = damage
	return found, nil
}

// dirDamage is what checkDir found: a line for each damage, and the
// write-ahead log operations that cannot be replayed.
type dirDamage struct {
	lines   []string
	lostOps int64
}

// walScan is what scanWAL found in one write-ahead log.
type walScan struct {
	damagedAt   int64 // offset of the first record that cannot be read, or -1
	lostBatches int   // valid records after it
	lostOps     int64 // operations in those records
}

const walBlockSize = 32 << 10 // Pebble's record block size

// scanWAL reads a write-ahead log record by record. A record that cannot
// be read ends what Pebble replays; if valid records of the same log follow
// it, the damage is in the middle (a crash only tears the tail).
func scanWAL(path string) (walScan, error) {
	w := walScan{damagedAt: -1}
	num, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), ".log"), 10, 64)
	if err != nil {
		return w, nil // not a log Pebble would replay
	}
	f, err := os.Open(path)
	if err != nil {
		return w, fmt.Errorf("pebblestore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return w, fmt.Errorf("pebblestore: %w", err)
	}
	size := fi.Size()
	readAll := func(rr *record.Reader) (int64, error) {
		for {
			r, err := rr.Next()
			if err == nil {
				var b []byte
				b, err = io.ReadAll(r)
				if err == nil && w.damagedAt >= 0 {
					w.lostBatches++
					if len(b) >= 12 {
						w.lostOps += int64(binary.LittleEndian.Uint32(b[8:12]))
					}
				}
			}
			if err != nil {
				return rr.Offset(), err
			}
		}
	}
	off, err := readAll(record.NewReader(f, pebble.FileNum(num)))
	if err == io.EOF {
		return w, nil
	}
	w.damagedAt = off
	// Look for valid records in every later block.
	for b := (off/walBlockSize + 1) * walBlockSize; b < size; b += walBlockSize {
		end, _ := readAll(record.NewReader(io.NewSectionReader(f, b, size-b), pebble.FileNum(num)))
		if next := b + end; next > b+walBlockSize {
			b = next / walBlockSize * walBlockSize
		}
	}
	return w, nil
}
