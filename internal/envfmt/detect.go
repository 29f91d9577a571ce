package envfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
)

// Detect returns the name of the format of an import document, among the
// formats a person is likely to feed to import without saying which:
//
//   - "k8s" for a Kubernetes Secret manifest (YAML or JSON with apiVersion
//     v1 and kind Secret);
//   - "json" for a document that starts with '{' (after white space and a
//     byte order mark) and parses as a JSON object;
//   - "yaml" for a document that parses as a YAML mapping and not as
//     dotenv;
//   - "dotenv" otherwise, so that a broken dotenv file gets dotenv's error
//     with its line number.
//
// A document that starts with '{' but is no valid JSON, one that starts
// with '[' and one that both dotenv and YAML read as variables (such as
// "A=b: c") are errors that ask for an explicit --format. docker, shell and
// github documents are never detected: docker's NAME=value reads as dotenv
// with other quoting rules, so it must be asked for by name.
func Detect(data []byte) (string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var v any
		if err := json.Unmarshal(trimmed, &v); err != nil {
			var se *json.SyntaxError
			if trimmed[0] == '{' && !errors.As(err, &se) {
				return "json", nil // valid JSON, odd content: json's reader says what
			}
			where := ""
			if _, jerr := readJSON(data); jerr != nil {
				where = " (" + jerr.Error() + ")"
			}
			return "", fmt.Errorf("the input starts like JSON but is not valid JSON%s; fix it, or pass --format yaml if it is a YAML flow mapping", where)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return "", errors.New(`the input is JSON but not an object; import expects {"NAME": "value", ...} (or pass --format)`)
		}
		if obj["apiVersion"] == "v1" && obj["kind"] == "Secret" {
			return "k8s", nil
		}
		return "json", nil
	}
	_, dotenvErr := dotenv.Parse(data)
	isMapping, isSecret := yamlShape(data)
	switch {
	case isSecret:
		return "k8s", nil
	case isMapping && dotenvErr != nil:
		return "yaml", nil
	case isMapping:
		return "", errors.New("the input reads both as a dotenv file and as a YAML mapping, with different variables; pass --format dotenv or --format yaml")
	}
	return "dotenv", nil
}

// yamlShape reports whether data is one YAML document holding a non-empty
// mapping, and whether that mapping is a Kubernetes Secret manifest.
func yamlShape(data []byte) (mapping, secret bool) {
	root, err := parseYAML("yaml", data)
	if err != nil || root == nil || root.Kind != yaml.MappingNode || len(root.Content) == 0 {
		return false, false
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		fields[root.Content[i].Value] = root.Content[i+1]
	}
	return true, yamlScalarIs(fields["apiVersion"], "v1") && yamlScalarIs(fields["kind"], "Secret")
}
