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
	bmShift  uint     // 64 - log2(bitmap words)
	bitmap   []uint64 // two bits of one word set for every indexed gram
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
	// A blocked Bloom filter: two bits in one 64-bit word per gram, about
	// 16 bits per entry (at most 2^23 bits = 1 MiB), so that a gram of text
	// passes it rarely (under 1% of the time with 1,000 values) while the
	// bitmap stays in cache.
	bmBits := min(max(bits.Len(uint(n))+4, 12), 23)
	m.bmShift = uint(64 - (bmBits - 6))
	m.bitmap = make([]uint64, 1<<(bmBits-6))
	bkBits := min(max(bits.Len(uint(n)), 4), 24)
	m.bkShift = uint(64 - bkBits)
	m.heads = make([]uint32, 1<<bkBits+1)
	for _, p := range m.pats {
		for off := range m.k {
			h := gramAt(p, off, m.w) * hashMul
			m.bitmap[h>>m.bmShift] |= bloomBits(h)
			m.heads[h>>m.bkShift+1]++
		}
	}
	for b := 1; b < len(m.heads); b++ {
		m.heads[b] += m.heads[b-1]
	}
	// The entries, grouped by bucket (a counting sort).
	m.entries = make([]gramEntry, n)
	next := slices.Clone(m.heads[:len(m.heads)-1])
	for i, p := range m.pats {
		for off := range m.k {
			g := gramAt(p, off, m.w)
			b := g * hashMul >> m.bkShift
			m.entries[next[b]] = gramEntry{gram: g, pat: int32(i), off: int32(off)}
			next[b]++
		}
	}
	m.ac = buildAutomaton(m.pats)
	return m
}

// bloomBits returns the two bits of a gram's hash h in its bitmap word
// (chosen by h's top bits): bits 32-37 and 40-45 of h.
func bloomBits(h uint64) uint64 {
	return 1<<(h>>32&63) | 1<<(h>>40&63)
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
	for {
		i = m.nextHit(buf, i)
		if i+8 > n {
			break
		}
		out = m.verify(buf, base, prevEnd, i, binary.LittleEndian.Uint64(buf[i:])&m.gramMask, out)
		i += m.k
	}
	for ; i+m.w <= n; i += m.k {
		g := gramAt(buf, i, m.w)
		h := g * hashMul
		if b := bloomBits(h); m.bitmap[h>>m.bmShift]&b == b {
			out = m.verify(buf, base, prevEnd, i, g, out)
		}
	}
	return out
}

// nextHit returns the first sample position from i on, among those with 8
// bytes in buf, whose gram passes the Bloom filter; or the first position
// without 8 bytes. It is the hot loop, kept small.
func (m *matcher) nextHit(buf []byte, i int) int {
	bm, shift, mask, k := m.bitmap, m.bmShift, m.gramMask, m.k
	for ; i+8 <= len(buf); i += k {
		h := (binary.LittleEndian.Uint64(buf[i:]) & mask) * hashMul
		if b := bloomBits(h); bm[h>>shift]&b == b {
			return i
		}
	}
	return i
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
// could be the start of a pattern. Its nodes are numbered breadth first,
// and the children of a node are consecutive, in increasing label order.
type automaton struct {
	root  [256]int32 // root's transitions (0: stay at the root)
	first []int32    // node n's children are first[n] ... first[n]+count[n]-1
	count []int32
	label []byte // the byte leading to each node
	fail  []int32
	hold  []int32 // bytes to hold back in each state
	// Nodes with many children also have a full row of transitions (0:
	// none), so that following failure links to them costs no search.
	denseIdx []int32 // index in rows, or -1
	rows     [][256]int32
}

// denseChildren is the number of children from which a node gets a row.
const denseChildren = 6

// buildAutomaton builds the trie of pats level by level from the sorted
// patterns (patterns with a common prefix are consecutive, so each level's
// nodes come out in order, children grouped under their parent), then the
// failure links in node order, which is breadth first: a node's failure
// link and its parent come before it.
func buildAutomaton(pats [][]byte) automaton {
	order := make([][]byte, len(pats))
	copy(order, pats)
	slices.SortFunc(order, bytes.Compare)
	total := 1
	for _, p := range order {
		total += len(p)
	}
	a := automaton{
		first: make([]int32, 1, total),
		count: make([]int32, 1, total),
		label: make([]byte, 1, total),
	}
	parent := make([]int32, 1, total)
	depth := make([]int32, 1, total)
	cur := make([]int32, len(order)) // each pattern's node at the level reached
	active := make([]int32, len(order))
	for i := range active {
		active[i] = int32(i)
	}
	for d := 0; len(active) > 0; d++ {
		prevParent, prevLabel := int32(-1), byte(0)
		next := active[:0]
		for _, i := range active {
			p, par := order[i], cur[i]
			c := p[d]
			if par != prevParent || c != prevLabel {
				id := int32(len(a.label))
				if a.count[par] == 0 {
					a.first[par] = id
				}
				a.count[par]++
				a.first = append(a.first, 0)
				a.count = append(a.count, 0)
				a.label = append(a.label, c)
				parent = append(parent, par)
				depth = append(depth, int32(d+1))
				prevParent, prevLabel = par, c
			}
			cur[i] = int32(len(a.label) - 1)
			if len(p) > d+1 {
				next = append(next, i)
			}
		}
		active = next
	}
	nodes := len(a.label)
	a.fail = make([]int32, nodes)
	a.hold = make([]int32, nodes)
	a.denseIdx = make([]int32, nodes)
	for n := range nodes {
		a.denseIdx[n] = -1
		if n > 0 && a.count[n] >= denseChildren {
			var row [256]int32
			for c := a.first[n]; c < a.first[n]+a.count[n]; c++ {
				row[a.label[c]] = c
			}
			a.denseIdx[n] = int32(len(a.rows))
			a.rows = append(a.rows, row)
		}
	}
	for c := a.first[0]; c < a.first[0]+a.count[0]; c++ {
		a.root[a.label[c]] = c
	}
	for v := int32(1); v < int32(nodes); v++ {
		if depth[v] > 1 {
			a.fail[v] = a.next(a.fail[parent[v]], a.label[v])
		}
		if a.count[v] > 0 {
			a.hold[v] = depth[v]
		} else {
			a.hold[v] = a.hold[a.fail[v]]
		}
	}
	return a
}

// next returns the state after state s reads c.
func (a *automaton) next(s int32, c byte) int32 {
	for s != 0 {
		if d := a.denseIdx[s]; d >= 0 {
			if t := a.rows[d][c]; t != 0 {
				return t
			}
		} else {
			for id, end := a.first[s], a.first[s]+a.count[s]; id < end; id++ {
				if l := a.label[id]; l == c {
					return id
				} else if l > c {
					break
				}
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
