package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the idle timer's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeAll writes in to a new writer of r in pieces of the given sizes
// (cycled) and returns what came out.
func writeAll(t *testing.T, r *Redactor, in string, sizes ...int) string {
	t.Helper()
	var out bytes.Buffer
	w := r.newWriter(&out, -1)
	for i := 0; len(in) > 0; i++ {
		n := min(len(in), max(sizes[i%len(sizes)], 1))
		if k, err := w.Write([]byte(in[:n])); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestSplitWritesSameOutput(t *testing.T) {
	secrets := map[string]string{
		"A": token, "B": "overlapping-" + token[:6], "C": "x\ny\nz-multi",
		"D": "aaaaaaab", "E": "aaaaaaaa",
	}
	in := strings.Join([]string{
		"start " + token + " mid", "overlapping-" + token, "x\ny\nz-multi", "aaaaaaaaaaab",
		base64.StdEncoding.EncodeToString([]byte("pre" + token + "post")), "end",
	}, " | ")
	for _, format := range []Format{FormatStars, FormatName} {
		r := New(secrets, Options{Format: format})
		want := r.String(in)
		checkMasked(t, "whole", want, token, "x\ny\nz-multi")
		for _, sizes := range [][]int{{1}, {2}, {3, 1}, {7}, {13, 5, 1}, {64}} {
			checkEqual(t, fmt.Sprintf("format %d sizes %v", format, sizes), writeAll(t, r, in, sizes...), want)
		}
		// Every split in two.
		for i := range len(in) {
			var out bytes.Buffer
			w := r.newWriter(&out, -1)
			_, _ = w.Write([]byte(in[:i]))
			_, _ = w.Write([]byte(in[i:]))
			_ = w.Close()
			checkEqual(t, fmt.Sprintf("split at %d", i), out.String(), want)
		}
	}
}

func TestHoldsBackOnlyPossibleStarts(t *testing.T) {
	r := New(map[string]string{"T": "hunter22"}, Options{IdleFlush: -1})
	var out syncBuffer
	w := r.NewWriter(&out)
	write := func(s string) {
		t.Helper()
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("Password: ")
	if got := out.String(); got != "Password: " {
		t.Fatalf("a prompt that cannot start a value was held back: %q", got)
	}
	write("hun")
	if got := out.String(); got != "Password: " {
		t.Fatalf("a possible start of a value was written: %q", got)
	}
	write("t")
	write("er22")
	write(" and hunt")
	if got := out.String(); got != "Password: *** and " {
		t.Fatalf("got %q", got)
	}
	write("ing")
	if got := out.String(); got != "Password: *** and hunting" {
		t.Fatalf("a start that did not become a value must be written: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIdleFlush(t *testing.T) {
	r := New(map[string]string{"T": "hunter22"}, Options{IdleFlush: 300 * time.Millisecond})
	var out syncBuffer
	w := r.NewWriter(&out)
	if _, err := w.Write([]byte("prompt hun")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "prompt " {
		t.Fatalf("got %q before the idle time", got)
	}
	waitFor(t, &out, "prompt hun")
	// The rest of the value is still masked after the flush.
	if _, err := w.Write([]byte("ter22 more hunter22\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "prompt hun*** more ***\n" {
		t.Fatalf("got %q", got)
	}
}

func TestIdleFlushKeepsPendingMaskAndIsRearmed(t *testing.T) {
	// "aaaaaaaa" and "aaaaaaaab": a whole value is found but could still
	// grow, so its mask is held back too; the idle flush writes it.
	r := New(map[string]string{"S": "aaaaaaaa", "L": "aaaaaaaab"}, Options{IdleFlush: 10 * time.Millisecond, Format: FormatName})
	var out syncBuffer
	w := r.NewWriter(&out)
	_, _ = w.Write([]byte("x aaaaaaaa"))
	waitFor(t, &out, "x <S>")
	_, _ = w.Write([]byte("y aaaa"))
	waitFor(t, &out, "x <S>y aaaa")
	_ = w.Close()
	if got := out.String(); got != "x <S>y aaaa" {
		t.Fatalf("got %q", got)
	}
}

func TestIdleFlushDisabled(t *testing.T) {
	r := New(map[string]string{"T": "hunter22"}, Options{IdleFlush: -1})
	var out syncBuffer
	w := r.NewWriter(&out)
	_, _ = w.Write([]byte("prompt hun"))
	time.Sleep(50 * time.Millisecond)
	if got := out.String(); got != "prompt " {
		t.Fatalf("flushed although IdleFlush < 0: %q", got)
	}
	_ = w.Close()
	if got := out.String(); got != "prompt hun" {
		t.Fatalf("Close did not write out the held bytes: %q", got)
	}
}

// waitFor polls until out is want, or fails after a generous bound.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("output never became %q: %q", want, out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// repeatReader yields n bytes of b repeated.
type repeatReader struct {
	b []byte
	n int64
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		p[k] = r.b[r.i]
		r.i = (r.i + 1) % len(r.b)
		k++
		r.n--
	}
	return k, nil
}

// capWatcher counts what is written to it; the test records the
// writer's buffer sizes after every write.
type capWatcher struct {
	maxBuf  int
	maxRegs int
	n       int64
}

func (c *capWatcher) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func TestMemoryBoundedWithoutNewlines(t *testing.T) {
	// bench/mask/run measures the peak memory of a 1 GiB line.
	size := int64(4 << 20)
	if testing.Short() {
		size = 1 << 20
	}
	cases := []struct {
		name    string
		secrets map[string]string
		unit    string
	}{
		// Every byte could be the start of the value: 7 bytes held back.
		{"always a prefix", map[string]string{"T": "aaaaaaab"}, "a"},
		// Every position matches: one masked region that never ends.
		{"endless match", map[string]string{"T": "aaaaaaaa"}, "a"},
		// Many matches, all touching.
		{"many matches", map[string]string{"T": "abcdefgh"}, "abcdefgh"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(c.secrets, Options{IdleFlush: -1})
			var sink capWatcher
			w := r.newWriter(&sink, -1)
			src := &repeatReader{b: []byte(c.unit), n: size}
			buf := make([]byte, 1<<20) // large writes are processed in pieces
			for {
				n, err := src.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						t.Fatal(werr)
					}
					sink.maxBuf = max(sink.maxBuf, cap(w.buf), cap(w.out))
					sink.maxRegs = max(sink.maxRegs, len(w.regions))
				}
				if err != nil {
					break
				}
			}
			_ = w.Close()
			if limit := chunkSize + 2*w.m.maxLen + 64; sink.maxBuf > 2*limit {
				t.Errorf("buffers grew to %d bytes for %d input bytes", sink.maxBuf, size)
			}
			if sink.maxRegs > 2 {
				t.Errorf("%d pending regions", sink.maxRegs)
			}
			if c.name == "endless match" && sink.n != 3 {
				t.Errorf("wrote %d bytes, want one mask", sink.n)
			}
		})
	}
}

func TestConcurrentWrites(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{})
	var out syncBuffer
	w := r.NewWriter(&out)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_, _ = fmt.Fprintf(w, "g%d line %d %s end\n", g, i, token)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " *** end") {
			t.Fatalf("a line was interleaved or not masked (len %d)", len(l))
		}
	}
}

var errSink = errors.New("sink failed")

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errSink
}

func TestWriteErrorsAreKept(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{})
	f := &failWriter{}
	w := r.NewWriter(f)
	if _, err := w.Write([]byte("a line\n")); !errors.Is(err, errSink) {
		t.Fatalf("Write error = %v", err)
	}
	if _, err := w.Write([]byte("another\n")); !errors.Is(err, errSink) {
		t.Fatalf("second Write error = %v", err)
	}
	if err := w.Close(); !errors.Is(err, errSink) {
		t.Fatalf("Close error = %v", err)
	}
	if f.n != 1 {
		t.Errorf("the failing writer was called %d times", f.n)
	}
	w2 := r.NewWriter(io.Discard)
	_ = w2.Close()
	if _, err := w2.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
}

func TestCopy(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{})
	in := "a " + token + " b " + token
	var out bytes.Buffer
	if err := r.Copy(&out, iotest.OneByteReader(strings.NewReader(in))); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "copy", out.String(), "a *** b ***")

	out.Reset()
	src := io.MultiReader(strings.NewReader("x "+token[:5]), iotest.ErrReader(errSink))
	if err := r.Copy(&out, src); !errors.Is(err, errSink) {
		t.Fatalf("Copy error = %v", err)
	}
	if out.String() != "x "+token[:5] {
		t.Error("Copy must write out what it holds when the source fails")
	}
	if err := r.Copy(&failWriter{}, strings.NewReader("abc")); !errors.Is(err, errSink) {
		t.Fatalf("Copy error = %v", err)
	}
}

// TestMatcherBuiltOnFirstWrite: New and a writer that is closed without
// bytes build no matcher (a command that prints nothing pays nothing for
// it); writers of a new Redactor written at the same time build it once and
// all mask.
func TestMatcherBuiltOnFirstWrite(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{})
	w := r.NewWriter(io.Discard)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r.m != nil || r.values == nil {
		t.Fatal("the matcher was built before any byte was written")
	}
	if names := r.Names(); len(names) != 1 || names[0] != "T" {
		t.Fatalf("Names = %v before the matcher is built, want [T]", names)
	}
	outs := make([]syncBuffer, 4)
	var wg sync.WaitGroup
	for i := range outs {
		w := r.NewWriter(&outs[i])
		wg.Go(func() {
			_, _ = fmt.Fprintf(w, "a %s b\n", token)
			_ = w.Close()
		})
	}
	wg.Wait()
	for i := range outs {
		if got := outs[i].String(); got != "a *** b\n" {
			t.Fatalf("writer %d: output of len %d, want the value masked", i, len(got))
		}
	}
	if r.m == nil || r.values != nil {
		t.Fatal("the matcher is not kept once built")
	}
}
