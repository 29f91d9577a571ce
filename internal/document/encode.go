package document

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"filippo.io/age"
)

// Encrypt writes the document with its edits, in FormatV2, as a new age
// encryption to recipients. The whole stored document is decrypted and
// checked first: a document that is not exactly as this package writes it
// gives a *CorruptError and nothing is written to dst. On success d holds
// the written document (no edits, nothing left to decrypt) and its
// Fingerprint is that of the new encryption; on failure d is unchanged and
// what was written to dst must be thrown away.
func (d *Document) Encrypt(dst io.Writer, recipients ...age.Recipient) error {
	plain, st, err := d.encodeChecked()
	if err != nil {
		return err
	}
	hw := &headWriter{w: dst}
	w, err := age.Encrypt(hw, recipients...)
	if err != nil {
		return fmt.Errorf("cannot encrypt the document: %w", err)
	}
	// An io.Writer does not modify what it is given: the plaintext is
	// passed without a copy.
	if _, err := w.Write(unsafe.Slice(unsafe.StringData(plain), len(plain))); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	st.key, _ = Fingerprint(hw.head, hw.n)
	d.st, d.src, d.edits = st, source{}, nil
	return nil
}

// encodeChecked loads and checks the stored document, and lays it out
// with its edits.
func (d *Document) encodeChecked() (string, *state, error) {
	if err := d.load(); err != nil {
		return "", nil, err
	}
	return d.encode()
}

// headWriter passes writes through, counting the bytes and keeping the
// first 4 KiB (where the age header is) for the Fingerprint.
type headWriter struct {
	w    io.Writer
	n    int64
	head []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := 4096 - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(room, len(p))]...)
	}
	n, err := h.w.Write(p)
	h.n += int64(n)
	return n, err
}

// load reads the whole plaintext and checks that it is laid out exactly as
// encode writes it, so that a rewrite copies only sound entries.
func (d *Document) load() error {
	st := d.st
	st.mu.Lock()
	checked := st.checked
	st.mu.Unlock()
	if checked {
		return nil
	}
	plain, err := d.readAll()
	if err != nil {
		return err
	}
	st.mu.Lock()
	if !st.loaded {
		st.plain, st.loaded = plain, true
	}
	st.mu.Unlock()
	if err := d.check(plain); err != nil {
		return err
	}
	st.mu.Lock()
	st.checked = true
	st.mu.Unlock()
	return nil
}

// check walks the indexed layout of plain.
func (d *Document) check(plain string) error {
	st := d.st
	pos := st.line1Len
	expect := func(s string) bool {
		if !strings.HasPrefix(plain[pos:], s) {
			return false
		}
		pos += int64(len(s))
		return true
	}
	bad := corruptf("the document is not laid out as written")
	if !expect(glueIndex) {
		return bad
	}
	for i := range st.toc {
		te := &st.toc[i]
		if !expect(string(appendQuoted(nil, te.Repository))+":") || pos != te.Index[0] {
			return bad
		}
		rs, err := d.repo(te.Repository)
		if err != nil {
			return err
		}
		if _, err := d.lookup(rs); err != nil {
			return err
		}
		pos += te.Index[1]
		if !expect(separator(i, len(st.toc))) {
			return bad
		}
	}
	if !expect(glueRepos) {
		return bad
	}
	for i := range st.toc {
		te := &st.toc[i]
		if !expect(string(appendQuoted(nil, te.Repository))+":{\n") || pos != te.Entries[0] {
			return bad
		}
		rs, err := d.repo(te.Repository)
		if err != nil {
			return err
		}
		offs, err := d.offsets(rs)
		if err != nil {
			return err
		}
		names, err := d.lookup(rs)
		if err != nil {
			return err
		}
		st.mu.Lock()
		sound := rs.sound // GetAll checked every entry as below
		st.mu.Unlock()
		if sound {
			names = nil
		}
		for j, name := range names {
			lit, ok := entryLiteral(plain[offs[j]:offs[j+1]-2], name)
			if end, _, ok2 := scanString(lit, 0); !ok || !ok2 || end != len(lit) {
				return corruptf("the entry of a secret does not match the index")
			}
			if j+1 < len(names) && plain[offs[j+1]-2:offs[j+1]] != ",\n" {
				return bad
			}
		}
		pos = te.Entries[0] + te.Entries[1]
		if !expect("\n}" + separator(i, len(st.toc))) {
			return bad
		}
	}
	if !expect(glueEnd) || pos != int64(len(plain)) {
		return bad
	}
	return nil
}

func separator(i, n int) string {
	if i+1 < n {
		return ",\n"
	}
	return "\n"
}

// outRepo is one repository as encode writes it.
type outRepo struct {
	te     tocEntry
	quoted string
	names  []string
	sizes  []int64  // of each entry
	parts  []string // the entries, in order, to be joined by ",\n": runs of stored entries and new ones
	idxLen int64
}

// encode lays out the document with its edits; d has been loaded.
// Stored entries that do not change are copied in runs, as they are.
func (d *Document) encode() (string, *state, error) {
	// Every repository stored or edited; those left without secrets are
	// dropped below, once their names are merged (Repositories would
	// merge the names of every edited one once more to know it).
	repos := d.touchedRepositories()
	outs := make([]outRepo, 0, len(repos))
	var scratch []byte // new entries, made into strings at the end
	type pending struct{ repo, part, from, to int }
	var fresh []pending
	for _, repo := range repos {
		rs, err := d.repo(repo)
		if err != nil {
			return "", nil, err
		}
		var base []string
		var offs []int64
		if rs != nil {
			if d.st.v1 == nil {
				if offs, err = d.offsets(rs); err != nil {
					return "", nil, err
				}
			}
			if base, err = d.lookup(rs); err != nil {
				return "", nil, err
			}
		}
		edits := d.edits[repo]
		o := outRepo{quoted: string(appendQuoted(nil, repo))}
		o.te.Repository = repo
		// Edits that only replace stored values (add -y of an existing
		// name) leave the names as they are: o.names is then base itself,
		// not a copy.
		sameNames := offs != nil && replacesOnly(base, edits)
		add := func(name, value string) {
			from := len(scratch)
			scratch = appendQuoted(scratch, name)
			scratch = append(scratch, ':')
			scratch = appendQuoted(scratch, value)
			fresh = append(fresh, pending{len(outs), len(o.parts), from, len(scratch)})
			if !sameNames {
				o.names = append(o.names, name)
			}
			o.sizes = append(o.sizes, int64(len(scratch)-from))
			o.parts = append(o.parts, "")
		}
		if offs == nil {
			// Nothing stored in the indexed layout: every entry is new.
			mergeNames(base, edits, func(name string, fromBase bool, v *string) {
				if v != nil {
					add(name, *v)
				} else {
					add(name, rs.values[name])
				}
			})
			if len(o.names) > 0 {
				outs = append(outs, o)
			}
			continue
		}
		if sameNames {
			o.names = base
		} else {
			o.names = make([]string, 0, len(base)+len(edits))
		}
		o.sizes = make([]int64, 0, len(base)+len(edits))
		i := 0
		run := func(to int) { // stored entries i..to-1, unchanged
			if to <= i {
				return
			}
			if !sameNames {
				o.names = append(o.names, base[i:to]...)
			}
			for j := i; j < to; j++ {
				o.sizes = append(o.sizes, offs[j+1]-2-offs[j])
			}
			o.parts = append(o.parts, d.st.plain[offs[i]:offs[to]-2])
			i = to
		}
		for _, k := range slices.Sorted(maps.Keys(edits)) {
			pos, found := slices.BinarySearch(base[i:], k)
			run(i + pos)
			if found {
				i++
			}
			if v := edits[k]; v != nil {
				add(k, *v)
			}
		}
		run(len(base))
		if len(o.names) > 0 {
			outs = append(outs, o)
		}
	}
	if len(fresh) > 0 {
		s := string(scratch)
		for _, p := range fresh {
			outs[p.repo].parts[p.part] = s[p.from:p.to]
		}
	}
	return layOut(outs)
}

// replacesOnly reports whether edits only set names that base (sorted)
// holds: the names stay as they are.
func replacesOnly(base []string, edits map[string]*string) bool {
	for k, v := range edits {
		if _, found := slices.BinarySearch(base, k); v == nil || !found {
			return false
		}
	}
	return true
}

// layOut computes the offsets and writes the plaintext of outs.
func layOut(outs []outRepo) (string, *state, error) {
	toc := make([]tocEntry, len(outs))
	for k := range outs {
		o := &outs[k]
		n := len(o.names)
		o.idxLen = int64(len(idxNames) + len(idxSizes) + len(idxEnd) + 2*(n-1))
		for i, name := range o.names {
			o.idxLen += int64(quotedLen(name) + digits(int(o.sizes[i])))
			o.te.Entries[1] += o.sizes[i]
		}
		o.te.Entries[1] += int64(2 * (n - 1))
		o.te.Secrets = int64(n)
	}
	place := func(line1 int64) int64 {
		pos := line1 + int64(len(glueIndex))
		for k := range outs {
			o := &outs[k]
			pos += int64(len(o.quoted) + 1)
			o.te.Index = [2]int64{pos, o.idxLen}
			pos += o.idxLen + int64(len(separator(k, len(outs))))
		}
		pos += int64(len(glueRepos))
		for k := range outs {
			o := &outs[k]
			pos += int64(len(o.quoted) + 3)
			o.te.Entries[0] = pos
			pos += o.te.Entries[1] + 2 + int64(len(separator(k, len(outs))))
		}
		for k := range outs {
			toc[k] = outs[k].te
		}
		return pos + int64(len(glueEnd))
	}
	var line1 []byte
	for l, tries := int64(0), 0; ; tries++ {
		place(l)
		line1 = appendFirstLine(line1[:0], toc)
		if int64(len(line1)) == l {
			break
		}
		if tries > 20 {
			return "", nil, errors.New("document: the first line's length does not settle")
		}
		l = int64(len(line1))
	}
	total := place(int64(len(line1)))

	var sb strings.Builder
	sb.Grow(int(total))
	sb.Write(line1)
	sb.WriteString(glueIndex)
	var num []byte
	for k := range outs {
		o := &outs[k]
		sb.WriteString(o.quoted)
		sb.WriteByte(':')
		sb.WriteString(idxNames)
		for i, name := range o.names {
			if i > 0 {
				sb.WriteByte(',')
			}
			if plainString(name) {
				sb.WriteByte('"')
				sb.WriteString(name)
				sb.WriteByte('"')
			} else {
				sb.Write(appendQuoted(num[:0], name))
			}
		}
		sb.WriteString(idxSizes)
		for i, size := range o.sizes {
			if i > 0 {
				sb.WriteByte(',')
			}
			num = strconv.AppendInt(num[:0], size, 10)
			sb.Write(num)
		}
		sb.WriteString(idxEnd)
		sb.WriteString(separator(k, len(outs)))
	}
	sb.WriteString(glueRepos)
	for k := range outs {
		o := &outs[k]
		sb.WriteString(o.quoted)
		sb.WriteString(":{\n")
		for i, part := range o.parts {
			if i > 0 {
				sb.WriteString(",\n")
			}
			sb.WriteString(part)
		}
		sb.WriteString("\n}")
		sb.WriteString(separator(k, len(outs)))
	}
	sb.WriteString(glueEnd)
	if int64(sb.Len()) != total {
		return "", nil, fmt.Errorf("document: laid out %d bytes, wrote %d", total, sb.Len())
	}
	st := &state{version: 2, size: total, line1Len: int64(len(line1)), toc: toc,
		plain: sb.String(), loaded: true, checked: true, repos: make(map[string]*repoState, len(outs))}
	for k := range outs {
		o := &outs[k]
		offs := make([]int64, len(o.sizes)+1)
		pos := o.te.Entries[0]
		for i, size := range o.sizes {
			offs[i] = pos
			pos += size + 2
		}
		offs[len(o.sizes)] = pos
		st.repos[o.te.Repository] = &repoState{te: &st.toc[k], names: o.names, offs: offs}
	}
	return st.plain, st, nil
}

// appendFirstLine appends the first line: the format and the table of
// contents.
func appendFirstLine(b []byte, toc []tocEntry) []byte {
	b = append(b, v2Prefix...)
	for i, te := range toc {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"repository":`...)
		b = appendQuoted(b, te.Repository)
		b = append(b, `,"secrets":`...)
		b = strconv.AppendInt(b, te.Secrets, 10)
		b = append(b, `,"index":[`...)
		b = strconv.AppendInt(b, te.Index[0], 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, te.Index[1], 10)
		b = append(b, `],"entries":[`...)
		b = strconv.AppendInt(b, te.Entries[0], 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, te.Entries[1], 10)
		b = append(b, "]}"...)
	}
	return append(b, "],\n"...)
}

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}
