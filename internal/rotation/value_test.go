package rotation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestValueRedacted(t *testing.T) {
	v := newValue("Sup3rS3cretValue")
	m := map[string]value{"K": v}
	js, _ := json.Marshal(m)
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	log.Info().Interface("m", m).Any("v", v).Stringer("s", v).Msg("x")
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%s %v %+v %#v %q %x %d", v, v, v, v, v, v, v),
		fmt.Sprint(m), fmt.Sprintf("%#v %+v", m, m), fmt.Sprintf("%v", struct{ x value }{v}),
		string(js), logs.String(),
	} {
		if strings.Contains(s, "Sup3r") || strings.Contains(s, fmt.Sprintf("%x", "Sup3r")) {
			t.Errorf("value printed: %s", s)
		}
	}
	if v.reveal() != "Sup3rS3cretValue" || (value{}).reveal() != "" {
		t.Error("reveal")
	}
}
