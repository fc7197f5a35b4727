package rotation

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{EnvCluster: "jitsi-video-platform-cluster", EnvServices: "core,jvb,jibri"}
	tests := []struct {
		name string
		env  map[string]string
		want Config
		err  string
	}{
		{name: "contract", env: base, want: Config{Cluster: "jitsi-video-platform-cluster", Services: []string{"core", "jvb", "jibri"}}},
		{name: "spaces and empty items", env: map[string]string{EnvCluster: " c ", EnvServices: " core , ,jvb,", EnvKeys: "A_B, C", EnvKeepKeys: "TURN_SECRET"},
			want: Config{Cluster: "c", Services: []string{"core", "jvb"}, Required: []string{"A_B", "C"}, Keep: []string{"TURN_SECRET"}}},
		{name: "service ARN", env: map[string]string{EnvCluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/x", EnvServices: "arn:aws:ecs:eu-west-1:123456789012:service/x/core"},
			want: Config{Cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/x", Services: []string{"arn:aws:ecs:eu-west-1:123456789012:service/x/core"}}},
		{name: "no cluster", env: map[string]string{EnvServices: "core"}, err: "ECS_CLUSTER is empty"},
		{name: "no services", env: map[string]string{EnvCluster: "c", EnvServices: " , "}, err: "ECS_SERVICES is empty"},
		{name: "duplicate service", env: map[string]string{EnvCluster: "c", EnvServices: "core,jvb,core"}, err: "core appears twice"},
		{name: "bad service", env: map[string]string{EnvCluster: "c", EnvServices: "core jvb"}, err: `"core jvb" is not a valid name`},
		{name: "bad key", env: map[string]string{EnvCluster: "c", EnvServices: "core", EnvKeys: "1X"}, err: `SECRET_KEYS: "1X"`},
		{name: "key kept and required", env: map[string]string{EnvCluster: "c", EnvServices: "core", EnvKeys: "A", EnvKeepKeys: "A"}, err: "A is in both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"core,jvb,jibri", " a , ,b,", "a,a", "", ",,,", "x y", "arn:aws:ecs:r:1:service/c/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseList("X", s, serviceName)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error not ErrConfig: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, it := range items {
			if it == "" || it != strings.TrimSpace(it) || strings.Contains(it, ",") || !serviceName.MatchString(it) || seen[it] {
				t.Fatalf("bad item %q from %q", it, s)
			}
			seen[it] = true
		}
		// Joining the items and parsing again gives the same list.
		again, err := ParseList("X", strings.Join(items, ","), serviceName)
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("round trip of %q: %v, %v", items, again, err)
		}
	})
}
