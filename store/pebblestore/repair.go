package pebblestore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// RepairReport says what Open found and did when asked to repair.
type RepairReport struct {
	Damage    []string // what was found damaged; empty when nothing was
	Rebuilt   bool     // the store was rebuilt from what could be read
	Recovered int64    // messages read back
	Expected  int64    // messages at the last clean shutdown; -1 when unknown (the last shutdown was a crash)
	LostOps   int64    // write-ahead log operations that could not be replayed (at least: the rest of a damaged 32 KiB block is not counted)
	KeptAt    string   // where the damaged files were moved
}

// Lost returns how many messages the repair lost, or -1 when that is
// unknown (no clean-shutdown record to compare with).
func (r *RepairReport) Lost() int64 {
	if r == nil || r.Expected < 0 {
		return -1
	}
	return max(r.Expected-r.Recovered, 0)
}

func (r *RepairReport) String() string {
	if len(r.Damage) == 0 {
		return fmt.Sprintf("no damage found; %d messages", r.Recovered)
	}
	lost := "unknown (no clean-shutdown record)"
	if n := r.Lost(); n >= 0 {
		lost = fmt.Sprint(n)
	}
	wal := ""
	if r.LostOps > 0 {
		wal = fmt.Sprintf(" (at least %d write-ahead log operations could not be replayed)", r.LostOps)
	}
	return fmt.Sprintf("damage: %s; rebuilt from what could be read: %d messages recovered, %s lost%s; damaged files kept in %s",
		strings.Join(r.Damage, "; "), r.Recovered, lost, wal, r.KeptAt)
}

// Repair returns what Open did when Options.Repair was set, else nil.
func (s *Store) Repair() *RepairReport { return s.repair }

// repairDir checks the store and, when anything is damaged, rebuilds it:
// the damaged directory is moved aside (kept), every record that can still
// be read is copied into a fresh database in its place, and the report
// says how many messages were recovered and lost. damage is what checkDir
// found; tables are checked here by reading every record.
func (s *Store) repairDir(found dirDamage) (*RepairReport, error) {
	damage := found.lines
	rep := &RepairReport{Damage: damage, Expected: -1, LostOps: found.lostOps}
	rec, err := readCleanRecord(s.dir)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		rep.Expected = rec.Messages
	}
	if len(damage) == 0 {
		// Only reading every record tells whether a table is damaged.
		n, err := s.readAllRecords()
		if err == nil {
			rep.Recovered = n
			s.log.Info("store repair: no damage found", "dir", s.dir, "messages", n)
			return rep, nil
		}
		if !pebble.IsCorruptionError(err) {
			return nil, err
		}
		rep.Damage = append(rep.Damage, err.Error())
	}
	if err := s.rebuild(rep); err != nil {
		return nil, fmt.Errorf("pebblestore: repair %s: %w", s.dir, err)
	}
	rep.Rebuilt = true
	s.log.Warn("store repaired", "dir", s.dir, "report", rep.String())
	return rep, nil
}

// readAllRecords opens the store read-only and reads every record.
func (s *Store) readAllRecords() (int64, error) {
	db, err := pebble.Open(s.dir, &pebble.Options{FS: &fenceFS{FS: vfs.Default}, ReadOnly: true, Logger: logger{log: s.log}})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = scan(db, 'm', func(k, v []byte) error { n++; return nil })
	if err == nil {
		err = scan(db, 'q', func(k, v []byte) error { return nil })
	}
	if err == nil {
		err = scan(db, 's', func(k, v []byte) error { return nil })
	}
	if err == nil {
		err = scan(db, 'b', func(k, v []byte) error { return nil })
	}
	return n, err
}

// rebuild moves the damaged store aside and copies what can be read of it
// into a fresh one.
func (s *Store) rebuild(rep *RepairReport) error {
	kept := s.dir + ".damaged"
	for i := 1; ; i++ {
		if _, err := os.Stat(kept); errors.Is(err, os.ErrNotExist) {
			break
		}
		kept = fmt.Sprintf("%s.damaged.%d", s.dir, i)
	}
	// A working copy Pebble may read: hard links of every file, except the
	// ones repair changes (a missing CURRENT, damaged logs), which are
	// copied, so the kept directory stays as it was found.
	work := s.dir + ".repairing"
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.Rename(s.dir, kept); err != nil {
		return err
	}
	rep.KeptAt = kept
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	// The lock moved with the directory: take the new one's.
	s.lock.Close()
	lock, err := vfs.Default.Lock(filepath.Join(s.dir, "LOCK"))
	if err != nil {
		return err
	}
	s.lock = lock
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ents, err := os.ReadDir(kept)
	if err != nil {
		return err
	}
	var manifests []string
	for _, e := range ents {
		name := e.Name()
		switch fileKind(name) {
		case "":
			continue
		case "manifest":
			manifests = append(manifests, name)
		case "wal":
			w, err := scanWAL(filepath.Join(kept, name))
			if err != nil {
				return err
			}
			if w.damagedAt >= 0 {
				// Pebble refuses a log damaged in the middle unless it is the
				// last: keep what precedes the damage.
				if err := copyPrefix(filepath.Join(kept, name), filepath.Join(work, name), w.damagedAt); err != nil {
					return err
				}
				continue
			}
		}
		if err := os.Link(filepath.Join(kept, name), filepath.Join(work, name)); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(work, "CURRENT")); errors.Is(err, os.ErrNotExist) && len(manifests) > 0 {
		// The newest MANIFEST is the one CURRENT named.
		newest := manifests[len(manifests)-1]
		if err := writeFileSync(filepath.Join(work, "CURRENT"), []byte(newest+"\n")); err != nil {
			return err
		}
	}
	src, err := pebble.Open(work, &pebble.Options{FS: &fenceFS{FS: vfs.Default}, ReadOnly: true, Logger: logger{log: s.log}})
	if err != nil {
		return fmt.Errorf("open the damaged store: %w", err)
	}
	defer src.Close()
	dst, err := pebble.Open(s.dir, &pebble.Options{FS: &fenceFS{FS: vfs.Default}, Logger: logger{log: s.log}})
	if err != nil {
		return err
	}
	n, skipped, err := salvage(src, dst)
	if err != nil {
		dst.Close()
		return err
	}
	rep.Recovered = n
	rep.Damage = append(rep.Damage, skipped...)
	if err := dst.Flush(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func copyPrefix(from, to string, n int64) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.CopyN(out, in, n)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// salvage copies every record of src that can be read into dst, skipping
// damaged ranges of keys, and returns the messages copied and a line for
// each range skipped.
func salvage(src, dst *pebble.DB) (int64, []string, error) {
	var n int64
	var skipped []string
	var from []byte
	for {
		it, err := src.NewIter(&pebble.IterOptions{LowerBound: from})
		if err != nil {
			return n, skipped, err
		}
		b := dst.NewBatch()
		var last []byte
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if err := b.Set(k, it.Value(), nil); err != nil {
				it.Close()
				return n, skipped, err
			}
			if k[0] == 'm' && len(k) == 17 {
				n++
			}
			last = append(last[:0], k...)
			if b.Len() > 4<<20 {
				if err := b.Commit(pebble.NoSync); err != nil {
					it.Close()
					return n, skipped, err
				}
				b = dst.NewBatch()
			}
		}
		ierr := it.Close()
		if err := b.Commit(pebble.NoSync); err != nil {
			return n, skipped, err
		}
		if ierr == nil {
			return n, skipped, nil
		}
		start := last
		if start == nil {
			start = from
		}
		next, ok := nextReadable(src, start)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("records after key %x could not be read (%v)", start, ierr))
			return n, skipped, nil
		}
		skipped = append(skipped, fmt.Sprintf("records between keys %x and %x could not be read (%v)", start, next, ierr))
		from = next
	}
}

// nextReadable finds the first key after start from which src can be
// read again: keys are probed as 17-byte numbers, at growing distances
// from start, then by bisection. It reports false when nothing after start
// can be read.
func nextReadable(src *pebble.DB, start []byte) ([]byte, bool) {
	const width = 17
	toInt := func(k []byte) *big.Int {
		b := make([]byte, width)
		copy(b, k)
		return new(big.Int).SetBytes(b)
	}
	toKey := func(x *big.Int) []byte {
		b := x.Bytes()
		if len(b) > width {
			return nil
		}
		return append(make([]byte, width-len(b)), b...)
	}
	// probe reports whether reading from k works, and the first key then.
	probe := func(k []byte) (bool, []byte) {
		it, err := src.NewIter(&pebble.IterOptions{LowerBound: k})
		if err != nil {
			return false, nil
		}
		var first []byte
		if it.First() {
			first = bytes.Clone(it.Key())
		}
		if it.Close() != nil {
			return false, nil
		}
		return true, first
	}
	base := toInt(start)
	one := big.NewInt(1)
	lo := new(big.Int).Set(base) // unreadable
	var hi *big.Int              // readable
	for shift := uint(0); shift <= 8*width; shift++ {
		c := new(big.Int).Add(base, new(big.Int).Lsh(one, shift))
		k := toKey(c)
		if k == nil {
			break
		}
		if ok, _ := probe(k); ok {
			hi = c
			break
		}
		lo = c
	}
	if hi == nil {
		return nil, false
	}
	for new(big.Int).Sub(hi, lo).Cmp(one) > 0 {
		mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
		if ok, _ := probe(toKey(mid)); ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	_, first := probe(toKey(hi))
	if first == nil {
		return nil, false
	}
	return first, true
}
