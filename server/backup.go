package server

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
)

// ErrNoStore is Backup's error when the server keeps nothing on disk.
var ErrNoStore = errors.New("the server runs in memory: there is no store to back up")

// Backup writes a consistent copy of the store into dir, which must not
// exist, while the server keeps serving (pebblestore.Store.Checkpoint):
// every message whose send was answered before the call is in it. Start a
// server on dir (or copy dir elsewhere first) to restore it.
func (s *Server) Backup(ctx context.Context, dir string) error {
	if s.ops.store == nil {
		return ErrNoStore
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ops.store.Checkpoint(dir)
}

// serveBackup is POST /admin/backup?dir=ABSOLUTE-PATH on the admin
// listener.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	dir := r.URL.Query().Get("dir")
	if dir == "" || !filepath.IsAbs(dir) {
		plain(w, http.StatusBadRequest, "dir must be an absolute path that does not exist yet: POST /admin/backup?dir=/backups/qscale-2026-12-06")
		return
	}
	dir = filepath.Clean(dir)
	err := s.Backup(r.Context(), dir)
	switch {
	case errors.Is(err, ErrNoStore):
		plain(w, http.StatusConflict, err.Error())
	case err != nil:
		s.cfg.Logger.Error("backup failed", "dir", dir, "err", err)
		plain(w, http.StatusInternalServerError, "backup failed: "+err.Error())
	default:
		s.cfg.Logger.Info("backup written", "dir", dir)
		plain(w, http.StatusOK, "backup written to "+dir)
	}
}
