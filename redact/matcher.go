package redact

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
)

// matcher finds every occurrence of a set of patterns; see "Algorithm" in
// the package documentation. It is immutable once built.
type matcher struct {
	pats   [][]byte
	owner  []int32 // secret index of each pattern
	minLen int
	maxLen int

	// Sampling: one gram of w bytes every k bytes of the stream.
	w, k     int
	gramMask uint64
	bmShift  uint     // 64 - log2(bitmap bits)
	bitmap   []uint64 // bit set for the hash of every indexed gram
	bkShift  uint     // 64 - log2(len(heads)-1)
	heads    []uint32 // entries[heads[b]:heads[b+1]] are bucket b's
	entries  []gramEntry

	ac automaton
}

// gramEntry says that pattern pat has gram at offset off.
type gramEntry struct {
	gram uint64
	pat  int32
	off  int32
}

// match is one occurrence of pattern pat at [start, end) of the stream.
type match struct {
	start, end int64
	pat        int32
}

const hashMul = 0x9E3779B97F4A7C15

func newMatcher(ps []pattern) *matcher {
	m := &matcher{minLen: len(ps[0].b)}
	for _, p := range ps {
		m.pats = append(m.pats, p.b)
		m.owner = append(m.owner, p.owner)
		m.minLen = min(m.minLen, len(p.b))
		m.maxLen = max(m.maxLen, len(p.b))
	}
	m.w = min(8, (m.minLen+1)/2)
	if m.minLen >= 16 {
		m.w = 8
	}
	m.k = m.minLen - m.w + 1
	m.gramMask = ^uint64(0)
	if m.w < 8 {
		m.gramMask = 1<<(8*m.w) - 1
	}

	n := len(m.pats) * m.k
	m.entries = make([]gramEntry, 0, n)
	for i, p := range m.pats {
		for off := range m.k {
			m.entries = append(m.entries, gramEntry{gram: gramAt(p, off, m.w), pat: int32(i), off: int32(off)})
		}
	}
	// About 16 bitmap bits per entry (at most 2^23 bits = 1 MiB): a text
	// gram then hits a set bit rarely (a few % of the time) while the
	// bitmap stays in cache.
	bmBits := min(max(bits.Len(uint(n))+4, 12), 23)
	m.bmShift = uint(64 - bmBits)
	m.bitmap = make([]uint64, 1<<bmBits/64)
	bkBits := min(max(bits.Len(uint(n)), 4), 24)
	m.bkShift = uint(64 - bkBits)
	m.heads = make([]uint32, 1<<bkBits+1)
	for _, e := range m.entries {
		h := e.gram * hashMul
		m.bitmap[h>>m.bmShift>>6] |= 1 << (h >> m.bmShift & 63)
		m.heads[h>>m.bkShift+1]++
	}
	for b := 1; b < len(m.heads); b++ {
		m.heads[b] += m.heads[b-1]
	}
	// Counting sort of the entries by bucket.
	sorted := make([]gramEntry, len(m.entries))
	next := slices.Clone(m.heads[:len(m.heads)-1])
	for _, e := range m.entries {
		b := e.gram * hashMul >> m.bkShift
		sorted[next[b]] = e
		next[b]++
	}
	m.entries = sorted
	m.ac = buildAutomaton(m.pats)
	return m
}

// gramAt returns the w bytes of b at off as a little-endian number.
func gramAt(b []byte, off, w int) uint64 {
	var g [8]byte
	copy(g[:], b[off:off+w])
	return binary.LittleEndian.Uint64(g[:])
}

// scan appends to out every occurrence lying in buf (which holds the stream
// from offset base on) that ends after prevEnd. Every occurrence that
// starts at or after base is seen exactly once: it covers exactly one
// multiple of k with its gram at an offset below k.
func (m *matcher) scan(buf []byte, base, prevEnd int64, out []match) []match {
	k := int64(m.k)
	i := int((base+k-1)/k*k - base)
	n := len(buf)
	bm, bmShift, mask := m.bitmap, m.bmShift, m.gramMask
	for ; i+8 <= n; i += m.k {
		g := binary.LittleEndian.Uint64(buf[i:]) & mask
		h := g * hashMul
		if bm[h>>bmShift>>6]&(1<<(h>>bmShift&63)) != 0 {
			out = m.verify(buf, base, prevEnd, i, g, out)
		}
	}
	for ; i+m.w <= n; i += m.k {
		g := gramAt(buf, i, m.w)
		h := g * hashMul
		if bm[h>>bmShift>>6]&(1<<(h>>bmShift&63)) != 0 {
			out = m.verify(buf, base, prevEnd, i, g, out)
		}
	}
	return out
}

// verify appends the occurrences whose gram g is at buf[i:].
func (m *matcher) verify(buf []byte, base, prevEnd int64, i int, g uint64, out []match) []match {
	b := g * hashMul >> m.bkShift
	for _, e := range m.entries[m.heads[b]:m.heads[b+1]] {
		if e.gram != g {
			continue
		}
		start := i - int(e.off)
		if start < 0 {
			continue
		}
		p := m.pats[e.pat]
		end := start + len(p)
		if end > len(buf) || base+int64(end) <= prevEnd || !bytes.Equal(buf[start:end], p) {
			continue
		}
		out = append(out, match{start: base + int64(start), end: base + int64(end), pat: e.pat})
	}
	return out
}

// automaton is an Aho-Corasick automaton over the patterns, used only to
// know, at the end of each write, how many bytes at the end of the stream
// could be the start of a pattern.
type automaton struct {
	root      [256]int32 // root's transitions (0: stay at the root)
	edgeStart []int32    // node n's edges are edges[edgeStart[n]:edgeStart[n+1]]
	labels    []byte
	targets   []int32
	fail      []int32
	hold      []int32 // bytes to hold back in each state
}

// buildAutomaton builds the trie of pats (inserted in sorted order, so that
// a node's children are created in increasing label order and an existing
// child for the next byte is always the last one) and its failure links.
func buildAutomaton(pats [][]byte) automaton {
	order := make([][]byte, len(pats))
	copy(order, pats)
	slices.SortFunc(order, bytes.Compare)
	total := 1
	for _, p := range order {
		total += len(p)
	}
	firstChild := make([]int32, 1, total)
	lastChild := make([]int32, 1, total)
	nextSib := make([]int32, 1, total)
	label := make([]byte, 1, total)
	depth := make([]int32, 1, total)
	firstChild[0], lastChild[0], nextSib[0] = -1, -1, -1
	for _, p := range order {
		n := int32(0)
		for _, c := range p {
			if lc := lastChild[n]; lc >= 0 && label[lc] == c {
				n = lc
				continue
			}
			id := int32(len(label))
			firstChild = append(firstChild, -1)
			lastChild = append(lastChild, -1)
			nextSib = append(nextSib, -1)
			label = append(label, c)
			depth = append(depth, depth[n]+1)
			if lc := lastChild[n]; lc >= 0 {
				nextSib[lc] = id
			} else {
				firstChild[n] = id
			}
			lastChild[n] = id
			n = id
		}
	}
	nodes := len(label)
	a := automaton{
		edgeStart: make([]int32, nodes+1),
		labels:    make([]byte, 0, nodes-1),
		targets:   make([]int32, 0, nodes-1),
		fail:      make([]int32, nodes),
		hold:      make([]int32, nodes),
	}
	for n := range nodes {
		a.edgeStart[n] = int32(len(a.labels))
		for c := firstChild[n]; c >= 0; c = nextSib[c] {
			a.labels = append(a.labels, label[c])
			a.targets = append(a.targets, c)
		}
	}
	a.edgeStart[nodes] = int32(len(a.labels))
	for c := firstChild[0]; c >= 0; c = nextSib[c] {
		a.root[label[c]] = c
	}
	// Breadth first: a node's failure link is to a shallower node.
	queue := make([]int32, 0, nodes)
	for c := firstChild[0]; c >= 0; c = nextSib[c] {
		queue = append(queue, c)
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		if a.edgeStart[u] < a.edgeStart[u+1] {
			a.hold[u] = depth[u]
		} else {
			a.hold[u] = a.hold[a.fail[u]]
		}
		for e := a.edgeStart[u]; e < a.edgeStart[u+1]; e++ {
			v := a.targets[e]
			a.fail[v] = a.next(a.fail[u], a.labels[e])
			queue = append(queue, v)
		}
	}
	return a
}

// next returns the state after state s reads c.
func (a *automaton) next(s int32, c byte) int32 {
	for s != 0 {
		lo, hi := a.edgeStart[s], a.edgeStart[s+1]
		for e := lo; e < hi; e++ {
			if l := a.labels[e]; l == c {
				return a.targets[e]
			} else if l > c {
				break
			}
		}
		s = a.fail[s]
	}
	return a.root[c]
}

// run returns the state after s reads b.
func (a *automaton) run(s int32, b []byte) int32 {
	for _, c := range b {
		s = a.next(s, c)
	}
	return s
}
