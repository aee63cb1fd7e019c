package storebench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// appLog is a minimal append-only log: CRC32C-framed records in numbered
// segment files, one writer goroutine doing group commit (one write and one
// fdatasync per group). Space is given back by removing the oldest segments
// once none of the messages they introduced is alive.
//
// Record: u32 payload length | u32 CRC32C(payload) | payload
// Payload: kind u8 | id u64 | received u32 | visibleAt i64 | body (puts only)
type appLog struct {
	dir     string
	segSize int64
	w       *groupWriter

	// Owned by the writer goroutine (and by Open/Recover before it starts).
	f      *os.File
	cur    uint64 // current segment number
	size   int64  // bytes in the current segment
	oldest uint64
	segOf  map[uint64]uint64 // live message id -> segment of its put
	live   map[uint64]int    // segment -> live puts in it
	buf    []byte
	dirty  bool // written but not fdatasynced
}

const (
	recHeader  = 8
	recFixed   = 1 + 8 + 4 + 8
	defaultSeg = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func openAppLog(dir string) (Store, error) {
	l := &appLog{dir: dir, segSize: defaultSeg, segOf: map[uint64]uint64{}, live: map[uint64]int{}}
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		if err := l.openSegment(1); err != nil {
			return nil, err
		}
		l.oldest = 1
	} else {
		// Writing resumes in the last segment; Recover trims a torn tail.
		l.oldest, l.cur = segs[0], segs[len(segs)-1]
		f, err := os.OpenFile(l.segPath(l.cur), os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		l.f, l.size = f, st.Size()
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, err
		}
	}
	l.w = newGroupWriter(l)
	return l, nil
}

func (l *appLog) segPath(n uint64) string { return filepath.Join(l.dir, fmt.Sprintf("%016d.log", n)) }

func (l *appLog) segments() ([]uint64, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, e := range ents {
		var n uint64
		if name := e.Name(); strings.HasSuffix(name, ".log") {
			if _, err := fmt.Sscanf(name, "%016d.log", &n); err == nil {
				segs = append(segs, n)
			}
		}
	}
	slices.Sort(segs)
	return segs, nil
}

func (l *appLog) syncDir() error {
	d, err := os.Open(l.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (l *appLog) openSegment(n uint64) error {
	f, err := os.OpenFile(l.segPath(n), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return err
	}
	l.f, l.cur, l.size = f, n, 0
	return nil
}

func (l *appLog) encode(o op) {
	n := recFixed
	if o.kind == opPut {
		n += len(o.msg.Body)
	}
	start := len(l.buf)
	l.buf = slices.Grow(l.buf, recHeader+n)[:start+recHeader+n]
	p := l.buf[start+recHeader:]
	p[0] = byte(o.kind)
	binary.LittleEndian.PutUint64(p[1:], o.msg.ID)
	binary.LittleEndian.PutUint32(p[9:], o.msg.Received)
	binary.LittleEndian.PutUint64(p[13:], uint64(o.msg.VisibleAt))
	if o.kind == opPut {
		copy(p[recFixed:], o.msg.Body)
	}
	binary.LittleEndian.PutUint32(l.buf[start:], uint32(n))
	binary.LittleEndian.PutUint32(l.buf[start+4:], crc32.Checksum(p, castagnoli))
}

func (l *appLog) commit(ops []op, sync bool) error {
	l.buf = l.buf[:0]
	for _, o := range ops {
		switch o.kind {
		case opPut:
			l.segOf[o.msg.ID] = l.cur
			l.live[l.cur]++
		case opReceive:
			if _, ok := l.segOf[o.msg.ID]; !ok {
				continue // already deleted: nothing to record
			}
		case opDelete:
			s, ok := l.segOf[o.msg.ID]
			if !ok {
				continue
			}
			delete(l.segOf, o.msg.ID)
			l.live[s]--
		}
		l.encode(o)
	}
	if len(l.buf) > 0 {
		if _, err := l.f.Write(l.buf); err != nil {
			return err
		}
		l.size += int64(len(l.buf))
		l.dirty = true
	}
	if sync && l.dirty {
		if err := syscall.Fdatasync(int(l.f.Fd())); err != nil {
			return err
		}
		l.dirty = false
	}
	if l.size >= l.segSize {
		// Seal the segment (its lazy tail too) before writing elsewhere.
		if err := syscall.Fdatasync(int(l.f.Fd())); err != nil {
			return err
		}
		l.dirty = false
		if err := l.f.Close(); err != nil {
			return err
		}
		if err := l.openSegment(l.cur + 1); err != nil {
			return err
		}
	}
	return l.reclaim()
}

// reclaim removes the oldest sealed segments that introduced no live message.
// Deletes recorded in later segments stay meaningful because only a prefix of
// the log is ever removed.
func (l *appLog) reclaim() error {
	removed := false
	for l.oldest < l.cur && l.live[l.oldest] == 0 {
		if err := os.Remove(l.segPath(l.oldest)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		delete(l.live, l.oldest)
		l.oldest++
		removed = true
	}
	if removed {
		return l.syncDir()
	}
	return nil
}

func (l *appLog) Send(msgs []Msg) error { return l.w.durable(putOps(msgs)) }

func (l *appLog) Receive(id uint64, received uint32, visibleAt int64) error {
	return l.w.lazy(op{kind: opReceive, msg: Msg{ID: id, Received: received, VisibleAt: visibleAt}})
}

func (l *appLog) Delete(id uint64) error { return l.w.lazy(op{kind: opDelete, msg: Msg{ID: id}}) }

func (l *appLog) Flush() error { return l.w.flush() }

var errCorrupt = errors.New("applog: corrupt record")

// Recover replays every segment. Call it before any write; a torn or corrupt
// tail of the last segment is cut off.
func (l *appLog) Recover(fn func(Msg)) error {
	segs, err := l.segments()
	if err != nil {
		return err
	}
	msgs := make(map[uint64]*Msg)
	segOf := make(map[uint64]uint64)
	for i, seg := range segs {
		data, err := os.ReadFile(l.segPath(seg))
		if err != nil {
			return err
		}
		off := 0
		for off < len(data) {
			if len(data)-off < recHeader {
				break
			}
			n := int(binary.LittleEndian.Uint32(data[off:]))
			sum := binary.LittleEndian.Uint32(data[off+4:])
			if n < recFixed || len(data)-off-recHeader < n {
				break
			}
			p := data[off+recHeader : off+recHeader+n]
			if crc32.Checksum(p, castagnoli) != sum {
				break
			}
			id := binary.LittleEndian.Uint64(p[1:])
			switch opKind(p[0]) {
			case opPut:
				msgs[id] = &Msg{
					ID: id, Received: binary.LittleEndian.Uint32(p[9:]),
					VisibleAt: int64(binary.LittleEndian.Uint64(p[13:])),
					Body:      append([]byte(nil), p[recFixed:]...),
				}
				segOf[id] = seg
			case opReceive:
				if m := msgs[id]; m != nil {
					m.Received = binary.LittleEndian.Uint32(p[9:])
					m.VisibleAt = int64(binary.LittleEndian.Uint64(p[13:]))
				}
			case opDelete:
				delete(msgs, id)
				delete(segOf, id)
			}
			off += recHeader + n
		}
		if off < len(data) {
			if i != len(segs)-1 {
				return fmt.Errorf("%w in %s at offset %d", errCorrupt, l.segPath(seg), off)
			}
			if seg == l.cur {
				if err := l.f.Truncate(int64(off)); err != nil {
					return err
				}
				if _, err := l.f.Seek(int64(off), io.SeekStart); err != nil {
					return err
				}
				l.size = int64(off)
			}
		}
	}
	// Hand the rebuilt index to the writer, which has not written yet.
	l.w.mu.Lock()
	l.segOf = segOf
	l.live = make(map[uint64]int)
	for _, s := range segOf {
		l.live[s]++
	}
	l.w.mu.Unlock()
	for _, m := range msgs {
		fn(*m)
	}
	return nil
}

func (l *appLog) Close() error {
	l.w.close()
	return l.f.Close()
}
