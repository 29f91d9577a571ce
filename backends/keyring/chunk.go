package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	kr "github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Chunked values.
//
// A secret value may be up to secrets.MaxValueSize (64 KiB) long, but some
// keychains hold less per item: a Linux kernel "user" key (keyctl) takes at
// most 32767 bytes of payload (keyctlMaxData). Rather than refusing such
// values on one keychain only, a value longer than the keychain's item
// limit (module.maxData; 0 means no limit, and every other keychain of the
// module stores the value as one item) is kept in chunks:
//
//   - The item under the name's key holds a head: chunkMagic, a random
//     nonce, the number of chunks and the SHA-256 of the whole value.
//   - The chunks are stored under "<key>.<nonce>.<i>", first, and the head
//     last, so a reader sees the old value or the new one, never a mix; the
//     old chunks are removed after the head is replaced.
//   - A reader that finds a chunk missing or the checksum wrong (a
//     concurrent Set replaced the value meanwhile) reads the head again.
//
// Values never contain NUL (secrets.ValidateValue), so no value looks like
// a head. Chunk keys contain '.', which no encoded name does (encodeName),
// so listing the keychain never takes a chunk for a secret.
const chunkMagic = "\x00dstack-secrets-chunks:"

// maxChunks bounds the chunk count a head may announce.
const maxChunks = 1024

// readAttempts is how often readValue reads a head again when a concurrent
// Set keeps replacing the chunks under it.
const readAttempts = 4

type chunkHead struct {
	nonce string
	n     int
	sum   string
}

func parseChunkHead(data []byte) (chunkHead, bool) {
	rest, ok := strings.CutPrefix(string(data), chunkMagic)
	if !ok {
		return chunkHead{}, false
	}
	f := strings.Split(rest, ":")
	if len(f) != 3 {
		return chunkHead{}, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > maxChunks {
		return chunkHead{}, false
	}
	return chunkHead{nonce: f[0], n: n, sum: f[2]}, true
}

func chunkKey(key, nonce string, i int) string {
	return key + "." + nonce + "." + strconv.Itoa(i)
}

// read returns the raw item stored under key; found is false when there is
// none.
func (m *module) read(key string) (data []byte, found bool, err error) {
	item, err := m.ring.Get(key)
	if errors.Is(err, kr.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return item.Data, true, nil
}

// readValue returns the value stored under key, reassembled from its
// chunks when it has any; found is false when there is none.
func (m *module) readValue(ctx context.Context, key string) (value string, found bool, err error) {
	for attempt := 1; ; attempt++ {
		data, found, err := m.read(key)
		if err != nil || !found {
			return "", false, err
		}
		h, chunked := parseChunkHead(data)
		if !chunked {
			return string(data), true, nil
		}
		value, ok, err := m.readChunks(key, h)
		if err != nil {
			return "", false, err
		}
		if ok {
			return value, true, nil
		}
		// A concurrent Set replaced the chunks: read the new head.
		if attempt == readAttempts {
			return "", false, fmt.Errorf("the value kept changing while it was read; retry: %w", secrets.ErrConflict)
		}
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
	}
}

// writeValue stores value under key, in chunks when it is longer than the
// keychain's item limit, and then removes the chunks of the value it
// replaced.
func (m *module) writeValue(key, name, value string) error {
	var old chunkHead
	var oldChunked bool
	if m.maxData > 0 {
		data, found, err := m.read(key)
		if err != nil {
			return err
		}
		if found {
			old, oldChunked = parseChunkHead(data)
		}
	}
	if m.maxData == 0 || len(value) <= m.maxData {
		if err := m.ring.Set(m.item(key, name, []byte(value))); err != nil {
			return err
		}
	} else if err := m.setChunked(key, name, value); err != nil {
		return err
	}
	if oldChunked {
		m.removeChunks(key, old)
	}
	return nil
}

// removeValue removes the item under key and its chunks; found is false
// when there was none.
func (m *module) removeValue(key string) (found bool, err error) {
	data, found, err := m.read(key)
	if err != nil || !found {
		return false, err
	}
	if err := m.ring.Remove(key); err != nil {
		if errors.Is(err, kr.ErrKeyNotFound) {
			return false, nil
		}
		return false, err
	}
	if h, chunked := parseChunkHead(data); chunked {
		m.removeChunks(key, h)
	}
	return true, nil
}

// setChunked stores the chunks of value, then the head that points at
// them. When a write fails, the chunks written so far are removed and the
// previous value stays.
func (m *module) setChunked(key, name, value string) error {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(nb[:])
	n := (len(value) + m.maxData - 1) / m.maxData
	for i := 0; i < n; i++ {
		part := value[i*m.maxData : min(len(value), (i+1)*m.maxData)]
		if err := m.ring.Set(m.item(chunkKey(key, nonce, i), name, []byte(part))); err != nil {
			m.removeChunks(key, chunkHead{nonce: nonce, n: i})
			return err
		}
	}
	sum := sha256.Sum256([]byte(value))
	head := fmt.Sprintf("%s%s:%d:%s", chunkMagic, nonce, n, hex.EncodeToString(sum[:]))
	if err := m.ring.Set(m.item(key, name, []byte(head))); err != nil {
		m.removeChunks(key, chunkHead{nonce: nonce, n: n})
		return err
	}
	return nil
}

// readChunks reassembles a chunked value; ok is false when a chunk is
// missing or the checksum differs (a concurrent Set replaced it).
func (m *module) readChunks(key string, h chunkHead) (value string, ok bool, err error) {
	var b strings.Builder
	for i := 0; i < h.n; i++ {
		data, found, err := m.read(chunkKey(key, h.nonce, i))
		if err != nil {
			return "", false, err
		}
		if !found {
			return "", false, nil
		}
		b.Write(data)
	}
	sum := sha256.Sum256([]byte(b.String()))
	if hex.EncodeToString(sum[:]) != h.sum {
		return "", false, nil
	}
	return b.String(), true, nil
}

// removeChunks removes the chunks of head h, ignoring errors: a chunk left
// behind is invisible (List skips chunk keys) and only costs space.
func (m *module) removeChunks(key string, h chunkHead) {
	for i := 0; i < h.n; i++ {
		_ = m.ring.Remove(chunkKey(key, h.nonce, i))
	}
}
