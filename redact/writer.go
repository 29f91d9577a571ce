package redact

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// ErrClosed is returned by a writer's Write after its Close.
var ErrClosed = errors.New("redact: write after close")

// chunkSize is the largest piece of a Write processed at once: it bounds
// the writer's buffers whatever the size of a Write.
const chunkSize = 64 << 10

// region is a masked part [start, end) of the stream: the union of
// overlapping occurrences, shown with the name of the occurrence that
// starts first (pat, of length patLen; the longest at that start).
type region struct {
	start, end int64
	patLen     int64
	pat        int32
}

// writer is the streaming filter. Stream offsets are absolute (bytes
// written to it since it was made):
//
//	emitted ≤ safe ≤ pos
//
// pos is the end of what was written; safe = pos - the automaton's hold
// back: no occurrence found later can start before safe. buf holds the
// stream from bufStart = safe on (the bytes an occurrence still to be
// found can cover). regions are the masked parts not yet written, in order,
// each ending after safe; everything before emitted is written.
type writer struct {
	r *Redactor
	m *matcher // r's, taken at the first write (building it then)
	w io.Writer

	mu       sync.Mutex
	buf      []byte
	bufStart int64
	pos      int64
	state    int32
	emitted  int64
	floor    int64 // occurrences are masked from here on only (last flush)
	regions  []region
	found    []match
	out      []byte
	direct   []byte // a plain span of buf to write as it is, when out is empty
	err      error
	closed   bool

	idle      time.Duration
	timer     *time.Timer
	lastWrite time.Time
}

func (r *Redactor) newWriter(w io.Writer, idle time.Duration) *writer {
	return &writer{r: r, w: w, idle: idle}
}

// Write masks p and writes what is decided to the underlying writer.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	done := 0
	for done < len(p) {
		n := min(len(p)-done, chunkSize)
		if err := w.process(p[done : done+n]); err != nil {
			return done, err
		}
		done += n
	}
	w.armTimer()
	return done, nil
}

// Close writes out everything held back and stops the idle timer. It does
// not close the underlying writer.
func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.err == nil {
		w.flush()
	}
	return w.err
}

// process consumes one piece of input.
func (w *writer) process(p []byte) error {
	if w.m == nil {
		w.m = w.r.matcher()
	}
	m := w.m
	prevEnd := w.pos
	w.buf = append(w.buf, p...)
	w.pos += int64(len(p))
	if len(p) >= m.maxLen {
		w.state = m.ac.run(0, p[len(p)-m.maxLen:])
	} else {
		w.state = m.ac.run(w.state, p)
	}
	safe := w.pos - int64(m.ac.hold[w.state])

	w.found = m.scan(w.buf, w.bufStart, prevEnd, w.found[:0])
	if len(w.found) > 0 {
		w.addMatches()
	}
	w.emit(safe)
	if err := w.writeOut(); err != nil {
		return err
	}
	// Keep only the bytes from safe on.
	drop := int(safe - w.bufStart)
	w.buf = w.buf[:copy(w.buf, w.buf[drop:])]
	w.bufStart = safe
	return nil
}

// addMatches merges the occurrences just found into the regions. They come
// nearly in order of their starts (by gram position), so each is placed by
// a search from the end of the regions.
func (w *writer) addMatches() {
	for _, f := range w.found {
		start := max(f.start, w.floor)
		if start >= f.end {
			continue
		}
		w.addRegion(region{start: start, end: f.end, patLen: f.end - f.start, pat: f.pat})
	}
}

// addRegion merges g into the regions, which are sorted by start and do
// not overlap; a region is named by the occurrence with the smallest
// (start, longest, most important pattern).
func (w *writer) addRegion(g region) {
	rs := w.regions
	j := len(rs)
	for j > 0 && rs[j-1].start > g.start {
		j--
	}
	lo := j
	if j > 0 && g.start < rs[j-1].end {
		lo = j - 1
	}
	hi := j
	for hi < len(rs) && rs[hi].start < g.end {
		hi++
	}
	for _, o := range rs[lo:hi] {
		if before(o, g) {
			o.end = max(o.end, g.end)
			g = o
		} else {
			g.end = max(g.end, o.end)
		}
	}
	w.regions = slices.Replace(rs, lo, hi, g)
}

// before reports whether a names a union of both rather than b.
func before(a, b region) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	if a.patLen != b.patLen {
		return a.patLen > b.patLen
	}
	return a.pat < b.pat
}

// emit appends to out the stream up to safe: plain bytes, and the masks of
// the regions that no later occurrence can extend (they end by safe).
func (w *writer) emit(safe int64) {
	for {
		next := safe
		if len(w.regions) > 0 {
			next = min(next, w.regions[0].start)
		}
		if next > w.emitted {
			w.appendPlain(w.buf[w.emitted-w.bufStart : next-w.bufStart])
			w.emitted = next
		}
		if len(w.regions) == 0 || w.regions[0].start != w.emitted || w.regions[0].end > safe {
			return
		}
		w.appendMask(w.regions[0].pat)
		w.emitted = w.regions[0].end
		w.regions = w.regions[1:]
	}
}

// flush writes out everything: held bytes as they are, regions that could
// still grow with their masks. Occurrences found later are masked from
// here on only.
func (w *writer) flush() {
	for len(w.regions) > 0 {
		g := w.regions[0]
		if g.start > w.emitted {
			w.appendPlain(w.buf[w.emitted-w.bufStart : g.start-w.bufStart])
		}
		w.appendMask(g.pat)
		w.emitted = g.end
		w.regions = w.regions[1:]
	}
	if w.pos > w.emitted {
		w.appendPlain(w.buf[w.emitted-w.bufStart:])
		w.emitted = w.pos
	}
	w.floor = w.pos
	_ = w.writeOut() // the error is kept in w.err
}

// appendPlain adds plain bytes of buf to the output: as they are when
// they are all of it (the common case: no copy), else copied into out.
func (w *writer) appendPlain(b []byte) {
	if w.direct == nil && len(w.out) == 0 {
		w.direct = b
		return
	}
	w.spill()
	w.out = append(w.out, b...)
}

// appendMask adds the mask of pattern pat to the output.
func (w *writer) appendMask(pat int32) {
	w.spill()
	w.out = append(w.out, w.r.masks[w.m.owner[pat]]...)
}

// spill moves the direct span into out.
func (w *writer) spill() {
	if w.direct != nil {
		w.out = append(w.out, w.direct...)
		w.direct = nil
	}
}

// writeOut writes the output to the underlying writer; its first error is
// kept.
func (w *writer) writeOut() error {
	var err error
	switch {
	case w.direct != nil:
		_, err = w.w.Write(w.direct)
		w.direct = nil
	case len(w.out) > 0:
		_, err = w.w.Write(w.out)
	default:
		return nil
	}
	w.out = w.out[:0]
	if cap(w.out) > 4*chunkSize {
		w.out = nil
	}
	if err != nil {
		w.err = err
	}
	return err
}

// armTimer starts, resets or stops the idle timer after a Write, depending
// on whether bytes are held back.
func (w *writer) armTimer() {
	if w.idle < 0 {
		return
	}
	if w.emitted == w.pos {
		if w.timer != nil {
			w.timer.Stop()
		}
		return
	}
	w.lastWrite = time.Now()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.idle, w.idleFlush)
	} else {
		w.timer.Reset(w.idle)
	}
}

// idleFlush runs on the idle timer: it flushes unless a Write came less
// than the idle time ago (it raced with the timer), in which case it waits
// for the rest of that time.
func (w *writer) idleFlush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil || w.emitted == w.pos {
		return
	}
	if wait := w.idle - time.Since(w.lastWrite); wait > 0 {
		w.timer.Reset(wait)
		return
	}
	w.flush()
}
