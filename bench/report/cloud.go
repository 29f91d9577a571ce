package main

import (
	"fmt"
)

// cloud reports the cloud backend against the floor of its object store
// (cloud.txt, from bench/parts/cloud.sh running bench/cloud_test.go and
// bench/cloudcli_test.go), with the targets of its issue: GetAll (what
// `run` reads) of 100 secrets within 1.5x of one raw GET of the same object
// with the same SDK; Set against one GET plus one conditional PUT; Vault's
// read-all of 100 in the same run.
func (r *report) cloud() {
	res := parseBench(r.read("cloud.txt"))
	if len(res) == 0 {
		return
	}
	servers := []struct{ key, name string }{{"s3", "S3 (versitygw)"}, {"azurite", "Azure Blob (Azurite)"}, {"gcs", "GCS (fake-gcs-server)"}}
	r.p("## Cloud backend vs one GET of its object (S3, Azure Blob, GCS servers on this machine)\n\n")
	r.p("In one process, on an open store (`go test -bench BenchmarkCloud ./bench/`): the backend's operation and\n")
	r.p("its floor, the same SDK doing one GET (and, for set, one conditional PUT) of the same object, measured\n")
	r.p("interleaved in one benchmark so that load hits both alike. 100 secrets of 40 bytes. Recipients mode\n")
	r.p("verifies the member signature and decrypts with the member's age identity; KMS mode also unwraps the\n")
	r.p("data key with one call to the Vault dev server's transit engine (`hashivault://`), a second round trip\n")
	r.p("that the floor does not make.\n\n")
	r.p("| server | read all (recipients) | / one GET | read all (KMS) | / one GET | set one | / GET + conditional PUT |\n|---|---:|---:|---:|---:|---:|---:|\n")
	worst := 0.0
	for _, s := range servers {
		rec, kms, set := res["BenchmarkCloudGetAll/"+s.key+"/recipients"], res["BenchmarkCloudGetAll/"+s.key+"/kms"], res["BenchmarkCloudSet/"+s.key]
		if rec.runs == 0 {
			continue
		}
		worst = max(worst, rec.extra["x-floor"])
		r.p("| %s | %s | %s | %s | %s | %s | %s |\n", s.name,
			dur(rec.ns), ratio(rec.extra["x-floor"]), dur(kms.ns), ratio(kms.extra["x-floor"]), dur(set.ns), ratio(set.extra["x-floor"]))
	}
	if v := res["BenchmarkCloudVaultGetAll"]; v.runs > 0 {
		r.p("| Vault (KV v2, entry layout), for comparison | %s | | | | | |\n", dur(v.ns))
	}
	r.p("\n")
	if worst > 0 {
		r.p("- Target: reading all 100 secrets within 1.5x of one raw GET of the same object, on every server\n")
		r.p("  (recipients mode): **%s** (worst %s).\n", metOrNot(worst <= 1.5), ratio(worst))
		fmt.Fprintf(&r.summary, "cloud GetAll of 100 vs one raw GET: worst %s (%s)\n", ratio(worst), metOrNot(worst <= 1.5))
	}
	r.p("\n")

	if _, ok := res["BenchmarkCloudCLI/s3/run"]; !ok {
		return
	}
	r.p("### Whole processes\n\n")
	r.p("The CLI as a user runs it (`BenchmarkCloudCLI`): `dstack-secrets run -- /bin/true` with 100 secrets and\n")
	r.p("`dstack-secrets add -y`, each a fresh process that starts the cloud backend's program\n")
	r.p("`dstack-secrets-cloud` (two processes, the second linking the three clouds' SDKs and KMS clients),\n")
	r.p("against a fresh process of [`bench/internal/rawget`](bench/internal/rawget/main.go) that links the same\n")
	r.p("three SDKs and does one GET (or one GET and one conditional PUT) of the same object. Run with the\n")
	r.p("Vault backend in the same run for comparison.\n\n")
	r.p("| server | `run` | / `rawget` | `add -y` | / `rawget -put` |\n|---|---:|---:|---:|---:|\n")
	for _, s := range servers {
		run, add := res["BenchmarkCloudCLI/"+s.key+"/run"], res["BenchmarkCloudCLI/"+s.key+"/add"]
		if run.runs == 0 {
			continue
		}
		r.p("| %s | %s | %s | %s | %s |\n", s.name, dur(run.ns), ratio(run.extra["x-floor"]), dur(add.ns), ratio(add.extra["x-floor"]))
	}
	for _, l := range []string{"entry", "bundle"} {
		if v := res["BenchmarkCloudCLI/vault/"+l]; v.runs > 0 {
			r.p("| Vault (KV v2, %s layout) | %s | | | |\n", l, dur(v.ns))
		}
	}
	r.p("\nA process of the CLI pays its own start, the start of `dstack-secrets-cloud` and the initialisation\n")
	r.p("of the SDKs there; the in-process figures above are the backend's own cost.\n\n")
}
