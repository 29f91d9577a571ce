package document

// SizeBound returns an upper bound of the bytes of names and values that
// repo holds with d's edits (len(name)+len(value) summed over its
// secrets), found without decoding any value: in the indexed layout, the
// length of the repository's entries ("NAME":"VALUE" each, escaped, so
// never shorter than the name and value), from the first line. A capacity
// check can use it before reading a big repository whole.
func (d *Document) SizeBound(repo string) int64 {
	var n int64
	if d.st.v1 != nil {
		for k, v := range d.st.v1[repo] {
			n += int64(len(k) + len(v))
		}
	} else if te := d.st.find(repo); te != nil {
		n = te.Entries[1]
	}
	for name, v := range d.edits[repo] {
		if v != nil {
			n += int64(len(name) + len(*v))
		}
	}
	return n
}
