package cli

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": marker, "PIN": "1234"})
	log := "start\n" + marker + "\nb64 " + base64.StdEncoding.EncodeToString([]byte(marker)) + "\nurl " + url.QueryEscape(marker+"&x") + "\npin 1234\n"
	r := h.run(log, "redact")
	h.want(r, 0, "not masked (shorter than 6 bytes): PIN")
	if strings.Contains(r.stdout, marker) || strings.Contains(r.stdout, base64.StdEncoding.EncodeToString([]byte(marker))[:16]) {
		t.Fatalf("redact left a value or its base64 form in the output")
	}
	if !strings.HasPrefix(r.stdout, "start\n***\nb64 ") || !strings.Contains(r.stdout, "pin 1234\n") {
		t.Errorf("redact output %q", r.stdout)
	}
	r = h.run("", "redact", "--mask-format", "name", writeTemp(t, "x "+marker+" y"))
	if r.stdout != "x <TOKEN> y" {
		t.Errorf("redact FILE --mask-format name: %q", r.stdout)
	}
	h.want(h.run("", "redact", "/nonexistent/log"), 1, "/nonexistent/log")
}
