package file

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writebackStep is how many bytes of a new store file are written before
// the kernel is asked to start writing them to the disk.
const writebackStep = 1 << 20

// earlyWriteback returns f as a writer that asks the kernel, after every
// writebackStep bytes, to start writing them back (sync_file_range
// SYNC_FILE_RANGE_WRITE, which waits for nothing), so that the disk works
// while the rest is encrypted and the fsync that follows the last write
// waits for little. The fsync is what makes the file durable, as before;
// this only starts it earlier, and its errors are left to the fsync.
func earlyWriteback(f *os.File) io.Writer {
	return &writeback{f: f}
}

type writeback struct {
	f       *os.File
	written int64 // bytes written
	started int64 // bytes whose writeback was started
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.started >= writebackStep {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.written-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.written
	}
	return n, err
}
