package reliability

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentAdds runs 16 concurrent workers, each starting 50 `add`
// processes one after another (800 processes, 16 at any time, all writing
// the same store file), and checks that all 800 secrets are present with
// their values.
func TestConcurrentAdds(t *testing.T) {
	workers, perWorker := 16, 50
	if *long {
		perWorker = 200
	}
	s := newSandbox(t)
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				name, value := fmt.Sprintf("W%02d_%03d", w, i), fmt.Sprintf("value %d of worker %d", i, w)
				if r := s.run("", "add", name, value); r.code != 0 {
					errs <- fmt.Sprintf("add %s: exit %d: %s", name, r.code, r.stderr)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	all, err := s.all()
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for w := range workers {
		for i := range perWorker {
			name := fmt.Sprintf("W%02d_%03d", w, i)
			if all[name] != fmt.Sprintf("value %d of worker %d", i, w) {
				missing++
			}
		}
	}
	if missing > 0 || len(all) != workers*perWorker {
		t.Fatalf("%d of %d secrets missing or wrong; the store holds %d", missing, workers*perWorker, len(all))
	}
	if tmp := s.tempFiles(); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
	t.Logf("%d processes (%d writers at a time) added %d secrets; all present", workers*perWorker, workers, len(all))
}
