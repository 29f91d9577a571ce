package cloud

import (
	"encoding/json"
	"fmt"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The plaintext inside an object is the store document of package
// internal/document, the one the file backend keeps, holding one
// repository: the object's. The envelope's body names its format
// (docBody.Document; signed in recipients mode, and in KMS mode a changed
// name only makes the authenticated plaintext fail to decode). In
// recipients mode the payload is the document's own age encryption
// (Document.Encrypt), so the standard age program decrypts it
// (docs/cloud.md); in KMS mode it is the document's plaintext
// (Document.Encode) sealed under the data key.
//
// Objects written before have no Document in their body: their plaintext
// is the first format, {"version":1,"secrets":{"NAME":"value",...}}. They
// are read as they are (a read never rewrites an object) and the next
// write replaces them with a document.

// legacyVersion is the version of the first plaintext format.
const legacyVersion = 1

// decodeLegacy returns the secrets of a first-format plaintext, as a
// document of repo (a new Document whose edits hold them). Its errors never
// quote the plaintext.
func decodeLegacy(plaintext []byte, repo string) (*document.Document, error) {
	var d struct {
		Version int               `json:"version"`
		Secrets map[string]string `json:"secrets"`
	}
	if err := json.Unmarshal(plaintext, &d); err != nil {
		// The JSON error may quote a character of a value: say only where.
		return nil, fmt.Errorf("%w: the decrypted document is not valid JSON (%d bytes)", secrets.ErrCorrupt, len(plaintext))
	}
	if d.Version != legacyVersion {
		return nil, fmt.Errorf("%w: the decrypted document has version %d; this dstack-secrets reads version %d (upgrade it)", secrets.ErrCorrupt, d.Version, legacyVersion)
	}
	doc := document.New()
	for name, value := range d.Secrets {
		doc.Set(repo, name, value)
	}
	return doc, nil
}

// checkDocumentFormat refuses a body naming a document format this
// program does not write (a newer one: upgrade).
func (d *parsedDoc) checkDocumentFormat(where string) error {
	switch d.body.Document {
	case "", document.FormatV2:
		return nil
	}
	return fmt.Errorf("%w: %s holds a document of format %q, which this dstack-secrets does not read; upgrade dstack-secrets (the object is left untouched)", secrets.ErrCorrupt, where, d.body.Document)
}

// newDocument returns the document an object holds for values, the
// secrets of repo.
func newDocument(repo string, values map[string]string) *document.Document {
	doc := document.New()
	for name, value := range values {
		doc.Set(repo, name, value)
	}
	return doc
}
