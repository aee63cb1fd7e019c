package storebench

import (
	"context"
	"database/sql"
	"path/filepath"

	_ "modernc.org/sqlite"
)

// sqliteStore is modernc.org/sqlite (pure Go) in WAL mode. One writer
// connection, owned by the group writer, commits every gathered group in one
// transaction: with synchronous=FULL (WAL fsynced at commit) when the group
// holds a send or a flush, with synchronous=NORMAL (no fsync) when it holds
// only lazy receives and deletes.
type sqliteStore struct {
	db            *sql.DB
	conn          *sql.Conn
	ins, upd, del *sql.Stmt
	full          bool // current synchronous setting of conn; owned by the writer
	w             *groupWriter
}

func openSQLite(dir string) (Store, error) {
	dsn := "file:" + filepath.Join(dir, "q.db") +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS msg(
		id INTEGER PRIMARY KEY, received INTEGER NOT NULL, visible_at INTEGER NOT NULL, body BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &sqliteStore{db: db, conn: conn, full: true}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.ins, `INSERT INTO msg(id, received, visible_at, body) VALUES(?, ?, ?, ?)`},
		{&s.upd, `UPDATE msg SET received = ?, visible_at = ? WHERE id = ?`},
		{&s.del, `DELETE FROM msg WHERE id = ?`},
	} {
		if *p.dst, err = conn.PrepareContext(ctx, p.q); err != nil {
			conn.Close()
			db.Close()
			return nil, err
		}
	}
	s.w = newGroupWriter(s)
	return s, nil
}

func (s *sqliteStore) commit(ops []op, sync bool) error {
	ctx := context.Background()
	if sync != s.full {
		q := "PRAGMA synchronous=NORMAL"
		if sync {
			q = "PRAGMA synchronous=FULL"
		}
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return err
		}
		s.full = sync
	}
	if len(ops) == 0 {
		// A flush: an empty FULL commit does not fsync, so sync the WAL by
		// committing a no-op write.
		ops = []op{{kind: opDelete, msg: Msg{ID: 0}}}
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	ins, upd, del := tx.StmtContext(ctx, s.ins), tx.StmtContext(ctx, s.upd), tx.StmtContext(ctx, s.del)
	for _, o := range ops {
		switch o.kind {
		case opPut:
			_, err = ins.ExecContext(ctx, int64(o.msg.ID), int64(o.msg.Received), o.msg.VisibleAt, o.msg.Body)
		case opReceive:
			_, err = upd.ExecContext(ctx, int64(o.msg.Received), o.msg.VisibleAt, int64(o.msg.ID))
		case opDelete:
			_, err = del.ExecContext(ctx, int64(o.msg.ID))
		}
		if err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) Send(msgs []Msg) error { return s.w.durable(putOps(msgs)) }

func (s *sqliteStore) Receive(id uint64, received uint32, visibleAt int64) error {
	return s.w.lazy(op{kind: opReceive, msg: Msg{ID: id, Received: received, VisibleAt: visibleAt}})
}

func (s *sqliteStore) Delete(id uint64) error { return s.w.lazy(op{kind: opDelete, msg: Msg{ID: id}}) }

func (s *sqliteStore) Flush() error { return s.w.flush() }

func (s *sqliteStore) Recover(fn func(Msg)) error {
	rows, err := s.db.QueryContext(context.Background(), `SELECT id, received, visible_at, body FROM msg ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m Msg
		var id, rc int64
		if err := rows.Scan(&id, &rc, &m.VisibleAt, &m.Body); err != nil {
			return err
		}
		m.ID, m.Received = uint64(id), uint32(rc)
		fn(m)
	}
	return rows.Err()
}

// Compact checkpoints the WAL into the database file, truncates the WAL and
// rebuilds the database file without free pages.
func (s *sqliteStore) Compact() error {
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, "VACUUM"); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func (s *sqliteStore) Close() error {
	s.w.close()
	s.ins.Close()
	s.upd.Close()
	s.del.Close()
	s.conn.Close()
	return s.db.Close()
}
