package mediatest

import (
	"strings"
	"testing"
	"time"
)

// TestArgs: the command line carries Jibri's encoding parameters, the
// fragmenting flags only for fragmented variants, and -re only for killed.
func TestArgs(t *testing.T) {
	jibri := "-acodec aac -strict -2 -ar 44100 -b:a 128k -af aresample=async=1 -c:v libx264 -pix_fmt yuv420p -r 30 -crf 25 -preset ultrafast -profile:v main -level 3.1"
	cases := []struct {
		spec      Spec
		want, not []string
	}{
		{Spec{Variant: Plain, Length: 2 * time.Second}, []string{jibri, "-t 2.000", "testsrc=size=1280x720:rate=30", "-f mp4 out.mp4"}, []string{"-movflags", "-re", "-g "}},
		{Spec{Variant: Killed, Length: time.Second}, []string{jibri, "-re", "-t 36000"}, []string{"-movflags"}},
		{Spec{Variant: Fragmented, Length: time.Hour, Size: "160x120", GOP: 60}, []string{jibri, "-t 3600.000", "-g 60", "-movflags " + FragmentFlags, "size=160x120"}, []string{"-re"}},
		{Spec{Variant: KilledFragmented, Length: time.Second}, []string{"-re", "-movflags " + FragmentFlags}, nil},
	}
	for _, c := range cases {
		got := strings.Join(Args(c.spec, "out.mp4"), " ")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.spec.Variant, got, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q has %q", c.spec.Variant, got, n)
			}
		}
	}
	if Name(cases[0].spec) == Name(Spec{Variant: Plain, Length: 2 * time.Second, GOP: 60}) {
		t.Error("two command lines share a cache name")
	}
}
