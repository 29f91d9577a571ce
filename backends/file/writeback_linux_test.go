package file

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestEarlyWriteback: the writer passes every byte through to the file
// and starts the writeback of each full step written.
func TestEarlyWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), (3*writebackStep+writebackStep/2)/16)
	w := earlyWriteback(f).(*writeback)
	for p := data; len(p) > 0; {
		n := min(len(p), 64<<10+16) // age's chunks
		if k, err := w.Write(p[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		p = p[n:]
	}
	if w.started < 3*writebackStep || w.started > w.written || w.written != int64(len(data)) {
		t.Errorf("writeback started for %d bytes of %d written (%d given), want at least %d", w.started, w.written, len(data), 3*writebackStep)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes, want the %d written (%v)", len(got), len(data), err)
	}
}
