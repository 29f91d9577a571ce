package envfmt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// k8sSecret is the part of a core/v1 Secret that kubectl decodes: Data is
// []byte, which encoding/json decodes from base64, as the API machinery
// does.
type k8sSecret struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Type string            `json:"type"`
	Data map[string][]byte `json:"data"`
}

// TestK8sParsedBack parses the manifest as kubectl does (sigs.k8s.io/yaml
// to JSON, then JSON into the Secret's fields, base64 decoded by
// encoding/json into []byte) and with go.yaml.in/yaml/v3 plus base64.
func TestK8sParsedBack(t *testing.T) {
	vars := randomVars(5, 200)
	maps.Copy(vars, trickyVars())
	for _, opts := range []Options{{Project: "My_App.prod"}, {Name: "team.example-secrets", Namespace: "ci-1"}, {Name: "1e3", Namespace: "null"}, {Name: "true", Namespace: "0777"}} {
		var buf bytes.Buffer
		if err := K8s().Write(&buf, vars, opts); err != nil {
			t.Fatal(err)
		}
		j, err := k8syaml.YAMLToJSON(buf.Bytes())
		if err != nil {
			t.Fatalf("sigs.k8s.io/yaml: %v", err)
		}
		var s k8sSecret
		if err := json.Unmarshal(j, &s); err != nil {
			t.Fatalf("the manifest does not decode as a Secret: %v", err)
		}
		wantName := opts.Name
		if wantName == "" {
			wantName = "my-app-prod-secrets"
		}
		if s.APIVersion != "v1" || s.Kind != "Secret" || s.Type != "Opaque" || s.Metadata.Name != wantName || s.Metadata.Namespace != opts.Namespace {
			t.Fatalf("manifest header %+v", s)
		}
		got := map[string]string{}
		for k, v := range s.Data {
			got[k] = string(v)
		}
		compareVars(t, "kubectl's decoding", got, vars)

		var doc struct {
			Data map[string]string `yaml:"data"`
		}
		if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		got = map[string]string{}
		for k, v := range doc.Data {
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("%s: not base64", k)
			}
			got[k] = string(raw)
		}
		compareVars(t, "yaml/v3 + base64", got, vars)
	}
}

func TestK8sNames(t *testing.T) {
	for project, want := range map[string]string{
		"":                       "dstack-secrets",
		"default":                "default-secrets",
		"My_App.prod":            "my-app-prod-secrets",
		"--":                     "dstack-secrets",
		"a..b__c":                "a-b-c-secrets",
		"_x_":                    "x-secrets",
		strings.Repeat("a", 300): strings.Repeat("a", 245) + "-secrets",
	} {
		got := K8sSecretName(project)
		if got != want {
			t.Errorf("K8sSecretName(%q) = %q, want %q", project, got, want)
		}
		if err := ValidateK8sName(got); err != nil {
			t.Errorf("K8sSecretName(%q) is invalid: %v", project, err)
		}
	}
	for _, bad := range []string{"", "Upper", "under_score", "-start", "end-", "a..b", ".a", "a.", strings.Repeat("a", 254), "a b", "ä"} {
		if ValidateK8sName(bad) == nil {
			t.Errorf("ValidateK8sName(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"a", "a-b", "a.b", "0", "a1.b2-c3", strings.Repeat("a", 63) + "." + strings.Repeat("b", 63)} {
		if err := ValidateK8sName(good); err != nil {
			t.Errorf("ValidateK8sName(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"a.b", "A", strings.Repeat("a", 64), "-a"} {
		if ValidateK8sNamespace(bad) == nil {
			t.Errorf("ValidateK8sNamespace(%q) accepted it", bad)
		}
	}
	var buf bytes.Buffer
	err := K8s().Write(&buf, map[string]string{"A": marker}, Options{Name: "Bad_Name"})
	if err == nil || !strings.Contains(err.Error(), `k8s: the Secret name "Bad_Name" is not a valid Kubernetes name`) || buf.Len() != 0 {
		t.Fatalf("bad name: %v", err)
	}
	err = K8s().Write(&buf, map[string]string{"A": marker}, Options{Namespace: "a.b"})
	if err == nil || !strings.Contains(err.Error(), `namespace "a.b" is not a valid`) || buf.Len() != 0 {
		t.Fatalf("bad namespace: %v", err)
	}
}

func TestK8sRead(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ok := []struct {
		in   string
		want map[string]string
	}{
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata:\n  A: " + b64("one") + "\nstringData:\n  B: two\n", map[string]string{"A": "one", "B": "two"}},
		{"apiVersion: v1\nkind: Secret\ndata:\n", map[string]string{}},
		{`{"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"A": "` + b64("x\ny") + `"}}`, map[string]string{"A": "x\ny"}},
	}
	for _, tc := range ok {
		got, err := K8s().Read([]byte(tc.in))
		if err != nil {
			t.Fatalf("Read(%q): %v", tc.in, err)
		}
		compareVars(t, "k8s", got, tc.want)
	}
	head := "apiVersion: v1\nkind: Secret\n"
	bad := []struct{ in, want string }{
		{"apiVersion: v1\nkind: ConfigMap\ndata:\n  A: x\n", "expected a Kubernetes Secret manifest"},
		{"A: x\n", "expected a Kubernetes Secret manifest"},
		{head + "data:\n  A: '" + marker + "'\n", "line 4, column 6: A: the data value is not valid base64"},
		{head + "data:\n  A: " + b64("\xff"+marker) + "\n", "A: the decoded value is not UTF-8 text"},
		{head + "data:\n  tls.crt: " + b64(marker) + "\n", "line 4, column 3: a key in data is not an environment variable name"},
		{head + "data:\n  A: " + b64("x") + "\nstringData:\n  A: " + marker + "\n", "A: given both in data and in stringData"},
		{head + "stringData:\n  A: 1\n", "A: the value is an integer"},
		{head + "data: [" + marker + "]\n", "data must be a mapping"},
		{head + "data:\n  A: " + b64("x") + "\n  A: " + b64(marker) + "\n", "A: given more than once in data"},
	}
	for _, tc := range bad {
		_, err := K8s().Read([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read: error %v, want %q", err, tc.want)
		}
		checkNoValue(t, err, b64(marker), b64("\xff"+marker))
	}
}
