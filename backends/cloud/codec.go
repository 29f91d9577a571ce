package cloud

import (
	"encoding/json"
	"fmt"

	"github.com/dstackai/dstack-secrets/secrets"
)

// documentCodec turns the secrets of one repository into the plaintext that
// the envelope (envelope.go) encrypts, and back. Encryption, signing and
// the object layout are not its business: it only sees name/value maps and
// bytes.
//
// This file is the one place that knows the plaintext format. To share the
// document format with the file backend (package internal/document), replace
// jsonCodec below with an adapter over internal/document and change the
// variable codec; nothing else in the package depends on the format.
type documentCodec interface {
	// Encode returns the plaintext of values.
	Encode(values map[string]string) ([]byte, error)
	// Decode returns the values of a plaintext made by Encode. Its errors
	// never quote the plaintext (it holds values).
	Decode(plaintext []byte) (map[string]string, error)
}

// codec is the plaintext format in use.
var codec documentCodec = jsonCodec{}

// jsonCodec is the plaintext format of version 1: a JSON object
// {"version": 1, "secrets": {"NAME": "value", ...}}.
type jsonCodec struct{}

type jsonDocument struct {
	Version int               `json:"version"`
	Secrets map[string]string `json:"secrets"`
}

const jsonCodecVersion = 1

// Encode implements documentCodec.
func (jsonCodec) Encode(values map[string]string) ([]byte, error) {
	if values == nil {
		values = map[string]string{}
	}
	return json.Marshal(jsonDocument{Version: jsonCodecVersion, Secrets: values})
}

// Decode implements documentCodec.
func (jsonCodec) Decode(plaintext []byte) (map[string]string, error) {
	var d jsonDocument
	if err := json.Unmarshal(plaintext, &d); err != nil {
		// The JSON error may quote a character of a value: say only where.
		return nil, fmt.Errorf("%w: the decrypted document is not valid JSON (%d bytes)", secrets.ErrCorrupt, len(plaintext))
	}
	if d.Version != jsonCodecVersion {
		return nil, fmt.Errorf("%w: the decrypted document has version %d; this dstack-secrets reads version %d (upgrade it)", secrets.ErrCorrupt, d.Version, jsonCodecVersion)
	}
	if d.Secrets == nil {
		d.Secrets = map[string]string{}
	}
	return d.Secrets, nil
}
