package storebench

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble"
)

// pebbleStore keeps a message as two keys: 'b'+id -> body, 'm'+id -> metadata,
// so a receive rewrites 12 bytes rather than the body. Sends commit with
// pebble.Sync (pebble's commit pipeline groups concurrent syncs into one WAL
// fsync); receives and deletes commit with pebble.NoSync.
type pebbleStore struct {
	db *pebble.DB
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})         {}
func (quietLogger) Fatalf(f string, args ...interface{}) { pebble.DefaultLogger.Fatalf(f, args...) }

func openPebble(dir string) (Store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	return &pebbleStore{db: db}, nil
}

func (s *pebbleStore) Send(msgs []Msg) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, m := range msgs {
		if err := b.Set(idKey('b', m.ID), m.Body, nil); err != nil {
			return err
		}
		if err := b.Set(idKey('m', m.ID), encodeMeta(m.Received, m.VisibleAt), nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (s *pebbleStore) Receive(id uint64, received uint32, visibleAt int64) error {
	return s.db.Set(idKey('m', id), encodeMeta(received, visibleAt), pebble.NoSync)
}

func (s *pebbleStore) Delete(id uint64) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(idKey('b', id), nil)
	_ = b.Delete(idKey('m', id), nil)
	return b.Commit(pebble.NoSync)
}

func (s *pebbleStore) Flush() error {
	// A synced commit fsyncs the WAL, and with it every earlier NoSync record.
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.LogData([]byte{0}, nil)
	return b.Commit(pebble.Sync)
}

func (s *pebbleStore) Recover(fn func(Msg)) error {
	bodies, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("b"), UpperBound: []byte("c")})
	if err != nil {
		return err
	}
	defer bodies.Close()
	metas, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("m"), UpperBound: []byte("n")})
	if err != nil {
		return err
	}
	defer metas.Close()
	metas.First()
	for bodies.First(); bodies.Valid(); bodies.Next() {
		m := Msg{ID: binary.BigEndian.Uint64(bodies.Key()[1:]), Body: append([]byte(nil), bodies.Value()...)}
		for metas.Valid() && binary.BigEndian.Uint64(metas.Key()[1:]) < m.ID {
			metas.Next()
		}
		if metas.Valid() && binary.BigEndian.Uint64(metas.Key()[1:]) == m.ID {
			m.Received, m.VisibleAt = decodeMeta(metas.Value())
		}
		fn(m)
	}
	if err := bodies.Error(); err != nil {
		return err
	}
	return metas.Error()
}

func (s *pebbleStore) Compact() error {
	return s.db.Compact([]byte{0}, []byte{0xff}, true)
}

func (s *pebbleStore) Close() error { return s.db.Close() }
