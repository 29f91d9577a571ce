package document

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The indexed layout (FormatV2), as encode writes it and docs/file-format.md
// describes it:
//
//	{"format":"dstack-secrets/file/v2","toc":[{"repository":R,"secrets":N,"index":[OFF,LEN],"entries":[OFF,LEN]},...],
//	"index":{
//	R:{"names":[NAME,...],"sizes":[SIZE,...]},
//	...
//	},
//	"repositories":{
//	R:{
//	NAME:VALUE,
//	...
//	},
//	...
//	}}
//
// Offsets are byte offsets in the plaintext; an index extent covers the
// object after "R":, an entries extent covers the NAME:VALUE entries
// (joined by ",\n"), and SIZE is the length of one entry.

const (
	v2Prefix     = `{"format":"` + FormatV2 + `","toc":[`
	formatPrefix = `{"format":"dstack-secrets/file/v`
	glueIndex    = "\"index\":{\n"
	glueRepos    = "},\n\"repositories\":{\n"
	glueEnd      = "}}\n"
	idxNames     = `{"names":[`
	idxSizes     = `],"sizes":[`
	idxEnd       = `]}`
	maxFirstLine = 64 << 20
)

// tocEntry is one repository in the first line.
type tocEntry struct {
	Repository string   `json:"repository"`
	Secrets    int64    `json:"secrets"`
	Index      [2]int64 `json:"index"`
	Entries    [2]int64 `json:"entries"`
}

// readHead reads the first line and decides the format: the indexed
// layout when the document starts with its first line, else a plain JSON
// document decoded as a whole.
func (d *Document) readHead() error {
	st := d.st
	n := min(st.size, chunkSize)
	first, err := d.read(0, n)
	if err != nil {
		return err
	}
	if n == st.size {
		// All of it is in the first chunk: keep it, nothing more to decrypt.
		st.plain, st.loaded = first, true
	}
	if !strings.HasPrefix(first, v2Prefix) {
		return d.readPlainJSON()
	}
	for {
		if i := strings.IndexByte(first, '\n'); i >= 0 {
			first = first[:i+1]
			break
		}
		if n == st.size || n >= maxFirstLine {
			return corruptf("the first line has no end")
		}
		n = min(st.size, 2*n)
		if first, err = d.read(0, n); err != nil {
			return err
		}
	}
	toc, err := parseTOC(first, st.size)
	if err != nil {
		return err
	}
	st.version, st.toc, st.line1Len = 2, toc, int64(len(first))
	return nil
}

// readPlainJSON decodes a document that is not in the indexed layout: a
// FormatV1 document, or one of either format written by hand.
func (d *Document) readPlainJSON() error {
	st := d.st
	plain, err := d.read(0, st.size)
	if err != nil {
		return err
	}
	var doc struct {
		Format       string                       `json:"format"`
		Repositories map[string]map[string]string `json:"repositories"`
	}
	if err := json.Unmarshal([]byte(plain), &doc); err != nil {
		return &CorruptError{Detail: "not a store document: " + Unquoted(err)}
	}
	switch doc.Format {
	case FormatV1, FormatV2:
	default:
		if v, ok := strings.CutPrefix(doc.Format, formatPrefix[len(`{"format":"`):]); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 2 {
				return corruptf("format version %d is newer than this program reads; upgrade dstack-secrets", n)
			}
		}
		return corruptf("unknown format")
	}
	if doc.Repositories == nil {
		doc.Repositories = map[string]map[string]string{}
	}
	for r, m := range doc.Repositories {
		if len(m) == 0 {
			delete(doc.Repositories, r)
		}
	}
	st.version, st.v1 = 1, doc.Repositories
	st.loaded, st.checked = true, true
	return nil
}

// parseTOC decodes the first line, which must be exactly as encode writes it.
func parseTOC(line string, size int64) ([]tocEntry, error) {
	if !strings.HasSuffix(line, "],\n") {
		return nil, corruptf("the first line does not end the table of contents")
	}
	toc, ok, err := decodeTOC(line[:len(line)-2] + "}")
	if err != nil {
		return nil, corruptf("the table of contents is not JSON: %s", Unquoted(err))
	}
	if !ok || string(appendFirstLine(nil, toc)) != line {
		return nil, corruptf("the table of contents is not in the written form")
	}
	first := int64(len(line))
	for i, te := range toc {
		if i > 0 && toc[i-1].Repository >= te.Repository {
			return nil, corruptf("the table of contents is not sorted")
		}
		if te.Secrets < 1 || te.Secrets > size ||
			!inside(te.Index, first, size) || !inside(te.Entries, first, size) {
			return nil, corruptf("table of contents entry %d is out of range", i)
		}
	}
	return toc, nil
}

// decodeTOC decodes {"toc":[...]} into generic values and takes the
// entries from them by hand: decoding into a struct would cost every
// command that reads a store encoding/json's reflection set-up (about
// 30 us, 1.5% of a "run" at 10 secrets). ok is false when the values do
// not have the entries' shape; parseTOC then also checks that the entries
// re-encode to exactly the line read, so nothing is accepted that the
// encoder would not write.
func decodeTOC(doc string) (toc []tocEntry, ok bool, err error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, err
	}
	top, _ := v.(map[string]any)
	list, ok := top["toc"].([]any)
	if !ok {
		return nil, false, nil
	}
	toc = make([]tocEntry, len(list))
	for i, e := range list {
		m, _ := e.(map[string]any)
		te := &toc[i]
		te.Repository, ok = m["repository"].(string)
		if !ok || !jsonInt(m["secrets"], &te.Secrets) || !jsonPair(m["index"], &te.Index) || !jsonPair(m["entries"], &te.Entries) {
			return nil, false, nil
		}
	}
	return toc, true, nil
}

// jsonInt stores a decoded JSON integer (a json.Number) in *n.
func jsonInt(v any, n *int64) bool {
	num, ok := v.(json.Number)
	if !ok {
		return false
	}
	x, err := strconv.ParseInt(string(num), 10, 64)
	*n = x
	return err == nil
}

// jsonPair stores a decoded JSON array of two integers in *p.
func jsonPair(v any, p *[2]int64) bool {
	a, ok := v.([]any)
	return ok && len(a) == 2 && jsonInt(a[0], &p[0]) && jsonInt(a[1], &p[1])
}

func inside(ext [2]int64, first, size int64) bool {
	return ext[0] >= first && ext[1] > 0 && ext[0] <= size-ext[1]
}

// find returns repo's table of contents entry.
func (st *state) find(repo string) *tocEntry {
	i, ok := slices.BinarySearchFunc(st.toc, repo, func(te tocEntry, r string) int { return strings.Compare(te.Repository, r) })
	if !ok {
		return nil
	}
	return &st.toc[i]
}

// repo returns what is known of repo, or nil when the stored document has
// no such repository. For version 2 that is at least its index, read but
// not yet decoded.
func (d *Document) repo(repo string) (*repoState, error) {
	st := d.st
	st.mu.Lock()
	rs := st.repos[repo]
	st.mu.Unlock()
	if rs != nil {
		return rs, nil
	}
	switch {
	case st.v1 != nil:
		m := st.v1[repo]
		if m == nil {
			return nil, nil
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		slices.Sort(names)
		rs = &repoState{names: names, values: m, all: true}
	default:
		te := st.find(repo)
		if te == nil {
			return nil, nil
		}
		region, err := d.read(te.Index[0], te.Index[1])
		if err != nil {
			return nil, err
		}
		rs = &repoState{te: te, index: region}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if prev := st.repos[repo]; prev != nil {
		return prev, nil
	}
	st.repos[repo] = rs
	return rs, nil
}

// lookup returns rs's names for lookups, decoding the index on first use.
func (d *Document) lookup(rs *repoState) ([]string, error) {
	d.st.mu.Lock()
	names := rs.names
	d.st.mu.Unlock()
	if names != nil {
		return names, nil
	}
	names, sizes, err := parseIndex(rs.index, rs.te)
	if err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if rs.names == nil {
		rs.names, rs.sizes = names, sizes
	}
	return rs.names, nil
}

// parseIndex decodes {"names":[...],"sizes":[...]}: the names, strictly
// sorted, and the sizes list left raw for offsets.
func parseIndex(region string, te *tocEntry) (names []string, sizes string, err error) {
	bad := func(what string) error {
		return corruptf("the index of a repository %s", what)
	}
	if !strings.HasPrefix(region, idxNames) || !strings.HasSuffix(region, idxEnd) {
		return nil, "", bad("is not an index object")
	}
	names = make([]string, 0, min(te.Secrets, int64(len(region)/3)))
	i := len(idxNames)
	for {
		end, esc, ok := scanString(region, i)
		if !ok {
			return nil, "", bad("has a bad name")
		}
		name, ok := unquote(region[i:end], esc)
		if !ok {
			return nil, "", bad("has a bad name")
		}
		if len(names) > 0 && names[len(names)-1] >= name {
			return nil, "", bad("is not sorted")
		}
		names = append(names, name)
		i = end
		if i < len(region) && region[i] == ',' {
			i++
			continue
		}
		break
	}
	if !strings.HasPrefix(region[i:], idxSizes) {
		return nil, "", bad("has no sizes")
	}
	sizes = region[i+len(idxSizes) : len(region)-len(idxEnd)]
	if int64(len(names)) != te.Secrets || strings.Count(sizes, ",")+1 != len(names) {
		return nil, "", bad("does not count the secrets right")
	}
	return names, sizes, nil
}

// offsets returns rs's entry offsets, parsing the sizes on first use.
func (d *Document) offsets(rs *repoState) ([]int64, error) {
	d.st.mu.Lock()
	offs := rs.offs
	d.st.mu.Unlock()
	if offs != nil {
		return offs, nil
	}
	names, err := d.lookup(rs)
	if err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	sizes := rs.sizes
	d.st.mu.Unlock()
	te := rs.te
	offs = make([]int64, 0, len(names)+1)
	pos, s := te.Entries[0], sizes
	for len(s) > 0 {
		// A size: 1 to 12 digits without a leading zero, then ',' or the end.
		n, j := int64(0), 0
		for ; j < len(s) && j < 13 && '0' <= s[j] && s[j] <= '9'; j++ {
			n = 10*n + int64(s[j]-'0')
		}
		if j == 0 || j == 13 || s[0] == '0' || (j < len(s) && (s[j] != ',' || j+1 == len(s))) || n > te.Entries[1] {
			return nil, corruptf("an entry size of the index is not a size")
		}
		offs = append(offs, pos)
		if pos += n + 2; pos-te.Entries[0] > te.Entries[1]+2 {
			return nil, corruptf("the entry sizes of the index do not add up")
		}
		s = s[min(j+1, len(s)):]
	}
	offs = append(offs, pos)
	if len(offs) != len(names)+1 || pos-2 != te.Entries[0]+te.Entries[1] {
		return nil, corruptf("the entry sizes of the index do not add up")
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if rs.offs == nil {
		rs.offs = offs
	}
	return rs.offs, nil
}

// value returns the value of rs's i-th secret, decoding its entry only.
func (d *Document) value(rs *repoState, name string, i int) (string, error) {
	d.st.mu.Lock()
	v, ok := rs.values[name]
	region := rs.entries
	d.st.mu.Unlock()
	if ok {
		return v, nil
	}
	offs, err := d.offsets(rs)
	if err != nil {
		return "", err
	}
	var entry string
	if region != "" {
		base := rs.te.Entries[0]
		entry = region[offs[i]-base : offs[i+1]-2-base]
	} else if entry, err = d.read(offs[i], offs[i+1]-2-offs[i]); err != nil {
		return "", err
	}
	if v, err = entryValue(entry, name); err != nil {
		return "", err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if rs.values == nil {
		rs.values = map[string]string{}
	}
	rs.values[name] = v
	return v, nil
}

// allValues returns every value of rs in a new map with room for extra
// more. The entries are read once and kept; values are decoded per call.
func (d *Document) allValues(rs *repoState, extra int) (map[string]string, error) {
	d.st.mu.Lock()
	all, values, region := rs.all, rs.values, rs.entries
	d.st.mu.Unlock()
	if all {
		m := make(map[string]string, len(values)+extra)
		for k, v := range values {
			m[k] = v
		}
		return m, nil
	}
	offs, err := d.offsets(rs)
	if err != nil {
		return nil, err
	}
	names, err := d.lookup(rs)
	if err != nil {
		return nil, err
	}
	te := rs.te
	if region == "" {
		if region, err = d.read(te.Entries[0], te.Entries[1]); err != nil {
			return nil, err
		}
		d.st.mu.Lock()
		rs.entries = region
		d.st.mu.Unlock()
	}
	m := make(map[string]string, len(names)+extra)
	base := te.Entries[0]
	for i, name := range names {
		v, err := entryValue(region[offs[i]-base:offs[i+1]-2-base], name)
		if err != nil {
			return nil, err
		}
		if i+1 < len(names) && region[offs[i+1]-2-base:offs[i+1]-base] != ",\n" {
			return nil, corruptf("entries are not separated as written")
		}
		m[name] = v
	}
	d.st.mu.Lock()
	rs.sound = true // a rewrite need not check the entries again
	d.st.mu.Unlock()
	return m, nil
}

// entryValue decodes the entry NAME:VALUE of name.
func entryValue(entry, name string) (string, error) {
	lit, ok := entryLiteral(entry, name)
	if ok {
		end, esc, ok2 := scanString(lit, 0)
		if ok2 && end == len(lit) {
			if v, ok3 := unquote(lit, esc); ok3 {
				return v, nil
			}
		}
	}
	return "", corruptf("the entry of a secret does not match the index")
}

// entryLiteral returns the VALUE part of NAME:VALUE when NAME is name.
func entryLiteral(entry, name string) (string, bool) {
	if plainString(name) {
		n := len(name)
		if len(entry) < n+3 || entry[0] != '"' || entry[1:1+n] != name || entry[1+n] != '"' || entry[2+n] != ':' {
			return "", false
		}
		return entry[n+3:], true
	}
	q := string(appendQuoted(nil, name)) + ":"
	rest, ok := strings.CutPrefix(entry, q)
	return rest, ok
}
