// Package maskgen generates the secrets and the log-like input of the
// masking benchmarks (redact's Go benchmark and bench/mask), the same for a
// given seed.
package maskgen

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
)

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// Secrets returns n secrets named SECRET_000000... whose values are size
// random bytes of tokenAlphabet, like generated API tokens.
func Secrets(n, size int, seed uint64) map[string]string {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make(map[string]string, n)
	for i := range n {
		b := make([]byte, size)
		for j := range b {
			b[j] = tokenAlphabet[r.IntN(len(tokenAlphabet))]
		}
		out[fmt.Sprintf("SECRET_%06d", i)] = string(b)
	}
	return out
}

var words = strings.Fields(`the build step layer cache image pull push done error warning info
debug request response status ok failed retry connect upload download file bytes seconds
container runner job workflow dstack secret env config load save module package compile
test pass run node python pip install requirement satisfied already using version from to
with for in of on at by and or not a an is was be has had will would`)

// Log writes about size bytes of log-like text to w: timestamped lines of
// words, numbers, hex digests and base64 blobs, and about one line in
// every secretEvery (0: none) showing one of values, as it is or
// base64- or URL-encoded.
func Log(w io.Writer, size int64, values []string, secretEvery int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 2))
	bw := bufio.NewWriterSize(w, 64<<10)
	var written int64
	var line []byte
	blob := make([]byte, 48)
	for written < size {
		line = line[:0]
		line = fmt.Appendf(line, "2026-01-02T03:%02d:%02d.%03dZ %s ", r.IntN(60), r.IntN(60), r.IntN(1000),
			[]string{"INFO", "DEBUG", "WARN", "ERROR"}[r.IntN(4)])
		for range 4 + r.IntN(10) {
			switch x := r.IntN(20); {
			case x == 0:
				for i := range blob {
					blob[i] = byte(r.Uint32())
				}
				line = append(line, "sha256:"...)
				line = hex.AppendEncode(line, blob[:32])
			case x == 1:
				for i := range blob {
					blob[i] = byte(r.Uint32())
				}
				line = base64.StdEncoding.AppendEncode(line, blob)
			case x < 4:
				line = fmt.Appendf(line, "%d", r.IntN(100000))
			default:
				line = append(line, words[r.IntN(len(words))]...)
			}
			line = append(line, ' ')
		}
		if secretEvery > 0 && len(values) > 0 && r.IntN(secretEvery) == 0 {
			v := values[r.IntN(len(values))]
			switch r.IntN(3) {
			case 0:
				line = append(line, "token="+v...)
			case 1:
				line = append(line, "auth="+base64.StdEncoding.EncodeToString([]byte("user:"+v))...)
			default:
				line = append(line, "url=https://x.invalid/?t="+url.QueryEscape(v)...)
			}
		}
		line = append(line, '\n')
		n, err := bw.Write(line)
		written += int64(n)
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}
