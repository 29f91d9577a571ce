package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	kr "github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/secrets"
)

// passRing is the pass keychain: a kr.Keyring that runs the pass program
// the way github.com/99designs/keyring's pass backend does, but stores and
// reads items in the format pass's own users expect.
//
// An entry holds the value followed by one newline, so "pass show ENTRY"
// prints the value and an entry written with "pass insert" (one line) or
// "pass insert -m" (several lines) reads back as what was typed: the
// entry's text with one trailing newline removed. Entries that the keyring
// module wrote (a JSON object with the item's Key and base64 Data), as
// earlier versions did, are still read; a value that would itself read as
// such an object is written in that form, so every value reads back byte
// for byte.
//
// An entry that cannot be decrypted with the user's keys (encrypted to
// someone else's) gives an error wrapping secrets.ErrCorrupt; GetAll leaves
// such entries out with a warning. No error quotes a byte of an entry.
type passRing struct {
	dir    string // the password store
	prefix string // the folder of the scope's entries
}

var _ kr.Keyring = (*passRing)(nil)

// legacyItem is the JSON form the keyring module writes.
type legacyItem struct {
	Key  string
	Data []byte
}

func (p *passRing) entry(key string) string { return p.prefix + "/" + key }

func (p *passRing) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("pass", args...)
	cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+p.dir)
	return cmd
}

// run runs pass and returns its standard output. A failure carries pass's
// last line of standard error, which names the problem (gpg's message),
// never the entry's content.
func (p *passRing) run(stdin []byte, args ...string) ([]byte, error) {
	cmd := p.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			return nil, fmt.Errorf("pass %s: %v", args[0], err)
		}
		return nil, fmt.Errorf("pass %s: %v (%s)", args[0], err, secrets.Printable(msg))
	}
	return out.Bytes(), nil
}

func (p *passRing) exists(key string) bool {
	fi, err := os.Stat(filepath.Join(p.dir, filepath.FromSlash(p.entry(key))+".gpg"))
	return err == nil && !fi.IsDir()
}

// Get reads the entry of key.
func (p *passRing) Get(key string) (kr.Item, error) {
	if !p.exists(key) {
		return kr.Item{}, kr.ErrKeyNotFound
	}
	out, err := p.run(nil, "show", p.entry(key))
	if err != nil {
		if strings.Contains(err.Error(), "No secret key") || strings.Contains(err.Error(), "decryption failed") {
			return kr.Item{}, fmt.Errorf("%w: entry %s of the password store %s cannot be decrypted with your GPG keys (encrypted to someone else's?): %v", secrets.ErrCorrupt, p.entry(key), p.dir, err)
		}
		return kr.Item{}, err
	}
	return kr.Item{Key: key, Data: decodePassEntry(key, out)}, nil
}

// decodePassEntry returns the value an entry holds: the Data of a JSON
// item the keyring module wrote for key, else the text with one trailing
// newline removed.
func decodePassEntry(key string, out []byte) []byte {
	if trimmed := bytes.TrimSpace(out); len(trimmed) > 0 && trimmed[0] == '{' {
		var it legacyItem
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if dec.Decode(&it) == nil && it.Key == key && !dec.More() {
			return it.Data
		}
	}
	if v, ok := bytes.CutSuffix(out, []byte("\r\n")); ok {
		return v
	}
	v, _ := bytes.CutSuffix(out, []byte("\n"))
	return v
}

// encodePassEntry returns what an entry of key holding data contains.
func encodePassEntry(key string, data []byte) ([]byte, error) {
	plain := append(append([]byte{}, data...), '\n')
	if bytes.Equal(decodePassEntry(key, plain), data) {
		return plain, nil
	}
	// The value reads as a JSON item (or ends in "\r"): keep the module's
	// unambiguous form.
	return json.Marshal(legacyItem{Key: key, Data: data})
}

// GetMetadata implements kr.Keyring; pass keeps no metadata.
func (p *passRing) GetMetadata(string) (kr.Metadata, error) { return kr.Metadata{}, nil }

// Set writes the entry of item.Key.
func (p *passRing) Set(item kr.Item) error {
	content, err := encodePassEntry(item.Key, item.Data)
	if err != nil {
		return err
	}
	_, err = p.run(content, "insert", "--multiline", "--force", p.entry(item.Key))
	return err
}

// Remove deletes the entry of key.
func (p *passRing) Remove(key string) error {
	if !p.exists(key) {
		return kr.ErrKeyNotFound
	}
	_, err := p.run(nil, "rm", "--force", p.entry(key))
	return err
}

// Keys lists the entries under the scope's folder.
func (p *passRing) Keys() ([]string, error) {
	root := filepath.Join(p.dir, filepath.FromSlash(p.prefix))
	var keys []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".gpg") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(strings.TrimSuffix(rel, ".gpg")))
		return nil
	})
	return keys, err
}
