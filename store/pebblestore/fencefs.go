package pebblestore

import (
	"errors"
	"io"
	"os"
	"sync/atomic"

	"github.com/cockroachdb/pebble/vfs"
)

// errFenced is what a fenced database instance gets from every write.
var errFenced = errors.New("pebblestore: this database instance was abandoned after a fatal error")

// fenceFS is the file system of one Pebble instance. After Pebble reports a
// fatal error (a write-ahead log write failed on a full disk, say) its
// commit pipeline is wedged, and Close may never return, so the store
// abandons the instance and opens the directory afresh. Fencing makes sure
// the abandoned instance's background work (flush retries, compactions,
// removal of files it thinks obsolete) can no longer change a file.
//
// Lock is a no-op: the Store holds the directory's lock itself, for its
// whole life, so a fresh instance can open while an abandoned one lingers.
type fenceFS struct {
	vfs.FS
	fenced atomic.Bool
}

func (fs *fenceFS) fence() { fs.fenced.Store(true) }

func (fs *fenceFS) check() error {
	if fs.fenced.Load() {
		return errFenced
	}
	return nil
}

func (fs *fenceFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return fenceFile{File: f, fs: fs}, nil
}

func (fs *fenceFS) Create(name string) (vfs.File, error) {
	if err := fs.check(); err != nil {
		return nil, err
	}
	return fs.wrap(fs.FS.Create(name))
}

func (fs *fenceFS) Link(oldname, newname string) error {
	if err := fs.check(); err != nil {
		return err
	}
	return fs.FS.Link(oldname, newname)
}

func (fs *fenceFS) OpenReadWrite(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if err := fs.check(); err != nil {
		return nil, err
	}
	return fs.wrap(fs.FS.OpenReadWrite(name, opts...))
}

func (fs *fenceFS) Remove(name string) error {
	if err := fs.check(); err != nil {
		return err
	}
	return fs.FS.Remove(name)
}

func (fs *fenceFS) RemoveAll(name string) error {
	if err := fs.check(); err != nil {
		return err
	}
	return fs.FS.RemoveAll(name)
}

func (fs *fenceFS) Rename(oldname, newname string) error {
	if err := fs.check(); err != nil {
		return err
	}
	return fs.FS.Rename(oldname, newname)
}

func (fs *fenceFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	if err := fs.check(); err != nil {
		return nil, err
	}
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname))
}

func (fs *fenceFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := fs.check(); err != nil {
		return err
	}
	return fs.FS.MkdirAll(dir, perm)
}

func (fs *fenceFS) Lock(string) (io.Closer, error) { return nopCloser{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// fenceFile refuses writes once its file system is fenced.
type fenceFile struct {
	vfs.File
	fs *fenceFS
}

func (f fenceFile) Write(p []byte) (int, error) {
	if err := f.fs.check(); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f fenceFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f fenceFile) Preallocate(off, n int64) error {
	if err := f.fs.check(); err != nil {
		return err
	}
	return f.File.Preallocate(off, n)
}

func (f fenceFile) Sync() error {
	if err := f.fs.check(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f fenceFile) SyncData() error {
	if err := f.fs.check(); err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f fenceFile) SyncTo(n int64) (bool, error) {
	if err := f.fs.check(); err != nil {
		return false, err
	}
	return f.File.SyncTo(n)
}
