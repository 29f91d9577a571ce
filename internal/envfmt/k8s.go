package envfmt

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// K8s is a Kubernetes Secret manifest for kubectl apply:
//
//	apiVersion: v1
//	kind: Secret
//	metadata:
//	  name: "<Options.Name, or K8sSecretName(Options.Project)>"
//	  namespace: "<Options.Namespace, when set>"
//	type: Opaque
//	data:
//	  NAME: "<base64 of the value>"
//
// The writer refuses a name or namespace that Kubernetes would refuse
// (Options.Name must be a DNS-1123 subdomain, Options.Namespace a DNS-1123
// label) and a value that is not UTF-8. Names that YAML 1.1 reads as
// booleans (NO, on, ...) are quoted, as in the yaml format.
//
// The reader takes one such manifest (YAML, or JSON as kubectl get -o json
// prints it): apiVersion v1, kind Secret, values from data (base64) and
// stringData (plain strings, as kubectl apply merges them). It refuses keys
// that are not environment variable names (Kubernetes also allows '-' and
// '.'), a key in both data and stringData, base64 that does not decode,
// and decoded values that are not UTF-8 text.
func K8s() Format {
	return Format{
		Name:    "k8s",
		Summary: "a Kubernetes Secret manifest (type Opaque, base64 data) for kubectl apply",
		Write:   writeK8s,
		Read:    readK8s,
	}
}

var (
	dns1123Subdomain = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	})
	dns1123Label = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) })
)

// ValidateK8sName reports whether name can be the name of a Kubernetes
// Secret: a DNS-1123 subdomain of at most 253 characters (lowercase letters,
// digits, '-' and '.', each dot-separated part starting and ending with a
// letter or digit).
func ValidateK8sName(name string) error {
	if len(name) > 253 || !dns1123Subdomain().MatchString(name) {
		return &Error{Format: "k8s", Msg: fmt.Sprintf("the Secret name %q is not a valid Kubernetes name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. my-project-secrets)", printable(name))}
	}
	return nil
}

// ValidateK8sNamespace reports whether namespace can be a Kubernetes
// namespace: a DNS-1123 label of at most 63 characters (lowercase letters,
// digits and '-', starting and ending with a letter or digit).
func ValidateK8sNamespace(namespace string) error {
	if len(namespace) > 63 || !dns1123Label().MatchString(namespace) {
		return &Error{Format: "k8s", Msg: fmt.Sprintf("the namespace %q is not a valid Kubernetes namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", printable(namespace))}
	}
	return nil
}

// K8sSecretName returns the default Secret name for a project:
// "<project>-secrets" in lowercase, every run of characters other than
// letters and digits turned into one '-' (a project "My_App.prod" gives
// "my-app-prod-secrets"), or "dstack-secrets" when project has no letter
// or digit. The result is always a valid Secret name.
func K8sSecretName(project string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(project) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		} else {
			dash = true
		}
	}
	base := b.String()
	if base == "" {
		return "dstack-secrets"
	}
	const suffix = "-secrets"
	if len(base) > 253-len(suffix) {
		base = strings.TrimRight(base[:253-len(suffix)], "-")
	}
	return base + suffix
}

func writeK8s(w io.Writer, vars map[string]string, opts Options) error {
	name := opts.Name
	if name == "" {
		name = K8sSecretName(opts.Project)
	}
	if err := ValidateK8sName(name); err != nil {
		return err
	}
	if opts.Namespace != "" {
		if err := ValidateK8sNamespace(opts.Namespace); err != nil {
			return err
		}
	}
	names, err := sortedChecked("k8s", vars, false)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n")
	// Quoted: a valid name such as 123, 1e3, true or null would
	// otherwise be read as a number, boolean or null.
	fmt.Fprintf(&b, "  name: \"%s\"\n", name)
	if opts.Namespace != "" {
		fmt.Fprintf(&b, "  namespace: \"%s\"\n", opts.Namespace)
	}
	b.WriteString("type: Opaque\n")
	if len(names) == 0 {
		b.WriteString("data: {}\n")
	} else {
		b.WriteString("data:\n")
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  %s: \"%s\"\n", yamlKey(n), base64.StdEncoding.EncodeToString([]byte(vars[n])))
	}
	return writeAll(w, &b)
}

func readK8s(data []byte) (map[string]string, error) {
	root, err := parseYAML("k8s", data)
	if err != nil {
		return nil, err
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, &Error{Format: "k8s", Msg: "expected a Kubernetes Secret manifest (apiVersion: v1, kind: Secret)"}
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		fields[root.Content[i].Value] = root.Content[i+1]
	}
	if !yamlScalarIs(fields["apiVersion"], "v1") || !yamlScalarIs(fields["kind"], "Secret") {
		return nil, &Error{Format: "k8s", Msg: "expected a Kubernetes Secret manifest (apiVersion: v1, kind: Secret)"}
	}
	vars := map[string]string{}
	if d := fields["data"]; d != nil && !isYAMLNull(d) {
		encoded, err := k8sStringMap(d, "data")
		if err != nil {
			return nil, err
		}
		for key, n := range encoded {
			raw, err := base64.StdEncoding.DecodeString(n.Value)
			if err != nil {
				return nil, &Error{Format: "k8s", Line: n.Line, Column: n.Column, Name: key, Msg: "the data value is not valid base64; put plain text under stringData instead"}
			}
			if !utf8.Valid(raw) {
				return nil, &Error{Format: "k8s", Line: n.Line, Column: n.Column, Name: key, Msg: "the decoded value is not UTF-8 text; a secret value must be text (store binary data base64-encoded)"}
			}
			vars[key] = string(raw)
		}
	}
	if s := fields["stringData"]; s != nil && !isYAMLNull(s) {
		plain, err := k8sStringMap(s, "stringData")
		if err != nil {
			return nil, err
		}
		for key, n := range plain {
			if _, dup := vars[key]; dup {
				return nil, &Error{Format: "k8s", Line: n.Line, Column: n.Column, Name: key, Msg: "given both in data and in stringData; keep one"}
			}
			vars[key] = n.Value
		}
	}
	return vars, nil
}

// k8sStringMap reads the data or stringData mapping of a Secret: keys are
// checked to be variable names, values to be strings.
func k8sStringMap(node *yaml.Node, where string) (map[string]*yaml.Node, error) {
	if node.Kind != yaml.MappingNode {
		return nil, &Error{Format: "k8s", Line: node.Line, Column: node.Column, Msg: fmt.Sprintf("%s must be a mapping of NAME: value", where)}
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Kind != yaml.ScalarNode || !ValidName(k.Value) {
			return nil, &Error{Format: "k8s", Line: k.Line, Column: k.Column, Msg: fmt.Sprintf("a key in %s is not an environment variable name (%s); rename it", where, msgBadName)}
		}
		if _, dup := out[k.Value]; dup {
			return nil, &Error{Format: "k8s", Line: k.Line, Column: k.Column, Name: k.Value, Msg: fmt.Sprintf("given more than once in %s; keep one", where)}
		}
		if _, err := yamlString("k8s", v, k.Value); err != nil {
			return nil, err
		}
		out[k.Value] = v
	}
	return out, nil
}

func yamlScalarIs(n *yaml.Node, value string) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == value
}

func isYAMLNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
