package checksum

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestCombineMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, alg := range []Algorithm{CRC32C, CRC64NVME} {
		for _, split := range []int{0, 1, 7, 4096, len(data) - 1, len(data)} {
			a, b := data[:split], data[split:]
			got := alg.Combine(alg.Update(0, a), alg.Update(0, b), int64(len(b)))
			if want := alg.Update(0, data); got != want {
				t.Errorf("%s split %d: combine %x, direct %x", alg, split, got, want)
			}
		}
	}
}

func TestKnownVectors(t *testing.T) {
	// "123456789" check values from the CRC catalogue.
	tests := []struct {
		alg  Algorithm
		want uint64
	}{
		{CRC32C, 0xe3069283},
		{CRC64NVME, 0xae8b14860a799888},
	}
	for _, tt := range tests {
		if got := tt.alg.Update(0, []byte("123456789")); got != tt.want {
			t.Errorf("%s: got %x, want %x", tt.alg, got, tt.want)
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"crc32c": CRC32C, "CRC64NVME": CRC64NVME, " crc64nvme ": CRC64NVME} {
		got, err := ParseAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseAlgorithm("md5"); err == nil {
		t.Error("md5 accepted")
	}
}

// readParts reads the tracker the way manager.Uploader does: one section
// reader per part, concurrently, with some parts read twice (retries) and a
// failed partial first attempt.
func readParts(t *testing.T, tr *Tracker, partSize int64, retry map[int]bool) {
	t.Helper()
	var wg sync.WaitGroup
	for i, off := 0, int64(0); off < tr.Size(); i, off = i+1, off+partSize {
		n := min(partSize, tr.Size()-off)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sr := io.NewSectionReader(tr, off, n)
			if retry[i] {
				// A failed attempt that read half, then a full attempt.
				if _, err := io.CopyN(io.Discard, sr, n/2); err != nil {
					t.Error(err)
				}
				if _, err := sr.Seek(0, io.SeekStart); err != nil {
					t.Error(err)
				}
			}
			if _, err := io.Copy(io.Discard, sr); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestTrackerMatchesWholeFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 1_000_003)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, alg := range []Algorithm{CRC32C, CRC64NVME} {
		for _, partSize := range []int64{1 << 20, 100_000, 333_333, 1_000_003} {
			src := bytes.NewReader(data)
			// The tracker covers only the first size bytes, like a growing file
			// cut at its size from the scan.
			tr := NewTracker(alg, src, int64(len(data)-3), partSize)
			readParts(t, tr, partSize, map[int]bool{0: true, 2: true})
			got, err := tr.Encoded()
			if err != nil {
				t.Fatalf("%s/%d: %v", alg, partSize, err)
			}
			if want := alg.Sum(data[:len(data)-3]); got != want {
				t.Errorf("%s/%d: tracker %s, direct %s", alg, partSize, got, want)
			}
		}
	}
}

func TestTrackerIncomplete(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1000)
	tr := NewTracker(CRC32C, bytes.NewReader(data), 1000, 300)
	sr := io.NewSectionReader(tr, 0, 300)
	if _, err := io.Copy(io.Discard, sr); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Sum(); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("want ErrIncomplete, got %v", err)
	}
	// An out-of-order read poisons the part until it is read from its start.
	tr = NewTracker(CRC32C, bytes.NewReader(data), 1000, 1000)
	buf := make([]byte, 10)
	_, _ = tr.ReadAt(buf, 500)
	_, _ = io.Copy(io.Discard, io.NewSectionReader(tr, 10, 990))
	if _, err := tr.Sum(); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("want ErrIncomplete after out-of-order read, got %v", err)
	}
}

func TestTrackerSeek(t *testing.T) {
	tr := NewTracker(CRC32C, bytes.NewReader(make([]byte, 100)), 60, 10)
	if n, err := tr.Seek(0, io.SeekEnd); err != nil || n != 60 {
		t.Fatalf("Seek end = %d, %v", n, err)
	}
	if _, err := tr.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("negative seek accepted")
	}
}

// A gated part is refused whole before any byte of it is read; one that
// passed is read to the end even when the gate closes meanwhile.
func TestTrackerGate(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte("x"), 30))
	tr := NewTracker(CRC32C, src, 30, 10)
	closed := false
	tr.Gate(func(int) error {
		if closed {
			return errGateTest
		}
		return nil
	})
	buf := make([]byte, 5)
	if _, err := tr.ReadAt(buf, 0); err != nil { // part 1 opens
		t.Fatal(err)
	}
	closed = true
	if _, err := tr.ReadAt(buf, 5); err != nil { // part 1 continues
		t.Fatalf("a part that passed the gate was cut: %v", err)
	}
	if _, err := tr.ReadAt(buf, 0); err != nil { // part 1 re-read from the start (a retry)
		t.Fatalf("a retried part was refused: %v", err)
	}
	if n, err := tr.ReadAt(buf, 10); !errors.Is(err, errGateTest) || n != 0 {
		t.Fatalf("part 2 started behind a closed gate: %d, %v", n, err)
	}
}

var errGateTest = errors.New("gate closed")
