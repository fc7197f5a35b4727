package recdir

import (
	"errors"
	"testing"
)

// A rearranged file's parts are counted from the object's size, which a
// widened chunk offset table makes larger than the file.
func TestProgressRearranged(t *testing.T) {
	const mib = 1 << 20
	r := New()
	r.Files["a.mp4"] = &File{Key: "k/a.mp4", Status: FileUploading, PartSize: 5 * mib, Size: 10 * mib,
		Rearranged: "faststart-v1", ObjectSize: 10*mib + 4000, Parts: []Part{{Number: 1, Size: 5 * mib}}}
	r.Files["b.mp4"] = &File{Key: "k/b.mp4", Status: FileUploading, PartSize: 5 * mib, Size: 10 * mib}
	if stored, total := r.Progress(); stored != 1 || total != 3+2 {
		t.Fatalf("Progress = %d, %d; want 1 of 5", stored, total)
	}
}

func TestDecodeRearranged(t *testing.T) {
	for _, c := range []struct {
		name, json string
		ok         bool
	}{
		{"both", `{"version":2,"files":{"a.mp4":{"key":"k","size":10,"rearranged":"faststart-v1","object_size":12}}}`, true},
		{"layout without size", `{"version":2,"files":{"a.mp4":{"key":"k","size":10,"rearranged":"faststart-v1"}}}`, false},
		{"size without layout", `{"version":2,"files":{"a.mp4":{"key":"k","size":10,"object_size":12}}}`, false},
		{"negative", `{"version":2,"files":{"a.mp4":{"key":"k","size":10,"rearranged":"x","object_size":-1}}}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Decode([]byte(c.json))
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if f := r.Files["a.mp4"]; f.Rearranged != "faststart-v1" || f.ObjectSize != 12 || f.UploadSize() != 12 {
					t.Fatalf("decoded %+v", f)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
		})
	}
}
