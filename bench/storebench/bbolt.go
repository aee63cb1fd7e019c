package storebench

import (
	"encoding/binary"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

type boltMode int

const (
	boltUpdate boltMode = iota // one db.Update (one fsync) per Send
	boltBatch                  // db.Batch per Send (bbolt's own batching, default 10 ms delay)
	boltGroup                  // our group-commit writer around db.Update
)

var (
	bodyBucket = []byte("body")
	metaBucket = []byte("meta")
)

// boltStore keeps bodies and metadata in two buckets keyed by the big-endian id.
// Every bbolt commit fsyncs, so lazy ops always go through the group writer,
// which commits them in groups.
type boltStore struct {
	db   *bolt.DB
	mode boltMode
	w    *groupWriter
}

func openBolt(mode boltMode) func(dir string) (Store, error) {
	return func(dir string) (Store, error) {
		db, err := bolt.Open(filepath.Join(dir, "q.db"), 0o600, nil)
		if err != nil {
			return nil, err
		}
		if err := db.Update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bodyBucket); err != nil {
				return err
			}
			_, err := tx.CreateBucketIfNotExists(metaBucket)
			return err
		}); err != nil {
			db.Close()
			return nil, err
		}
		s := &boltStore{db: db, mode: mode}
		s.w = newGroupWriter(s)
		return s, nil
	}
}

func be(id uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	return k
}

func (s *boltStore) apply(tx *bolt.Tx, ops []op) error {
	bb, mb := tx.Bucket(bodyBucket), tx.Bucket(metaBucket)
	bb.FillPercent, mb.FillPercent = 0.9, 0.9 // ids are mostly appended in order
	for _, o := range ops {
		k := be(o.msg.ID)
		switch o.kind {
		case opPut:
			if err := bb.Put(k, o.msg.Body); err != nil {
				return err
			}
			if err := mb.Put(k, encodeMeta(o.msg.Received, o.msg.VisibleAt)); err != nil {
				return err
			}
		case opReceive:
			if bb.Get(k) == nil {
				continue // already deleted
			}
			if err := mb.Put(k, encodeMeta(o.msg.Received, o.msg.VisibleAt)); err != nil {
				return err
			}
		case opDelete:
			if err := bb.Delete(k); err != nil {
				return err
			}
			if err := mb.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// commit is called by the group writer; bbolt fsyncs every commit whatever sync says.
func (s *boltStore) commit(ops []op, _ bool) error {
	return s.db.Update(func(tx *bolt.Tx) error { return s.apply(tx, ops) })
}

func putOps(msgs []Msg) []op {
	ops := make([]op, len(msgs))
	for i, m := range msgs {
		ops[i] = op{kind: opPut, msg: m}
	}
	return ops
}

func (s *boltStore) Send(msgs []Msg) error {
	ops := putOps(msgs)
	switch s.mode {
	case boltUpdate:
		return s.db.Update(func(tx *bolt.Tx) error { return s.apply(tx, ops) })
	case boltBatch:
		return s.db.Batch(func(tx *bolt.Tx) error { return s.apply(tx, ops) })
	default:
		return s.w.durable(ops)
	}
}

func (s *boltStore) Receive(id uint64, received uint32, visibleAt int64) error {
	return s.w.lazy(op{kind: opReceive, msg: Msg{ID: id, Received: received, VisibleAt: visibleAt}})
}

func (s *boltStore) Delete(id uint64) error {
	return s.w.lazy(op{kind: opDelete, msg: Msg{ID: id}})
}

func (s *boltStore) Flush() error { return s.w.flush() }

func (s *boltStore) Recover(fn func(Msg)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		mc := tx.Bucket(metaBucket).Cursor()
		c := tx.Bucket(bodyBucket).Cursor()
		mk, mv := mc.First()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			m := Msg{ID: binary.BigEndian.Uint64(k), Body: append([]byte(nil), v...)}
			for mk != nil && binary.BigEndian.Uint64(mk) < m.ID {
				mk, mv = mc.Next()
			}
			if mk != nil && binary.BigEndian.Uint64(mk) == m.ID {
				m.Received, m.VisibleAt = decodeMeta(mv)
			}
			fn(m)
		}
		return nil
	})
}

func (s *boltStore) Close() error {
	s.w.close()
	return s.db.Close()
}
