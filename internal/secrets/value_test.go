package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const plain = "p4ss-jicofo-Zq9"

// leaks reports whether out shows the secret in any common encoding.
func leaks(out string) bool {
	b := []byte(plain)
	for _, enc := range []string{
		plain, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)), base64.StdEncoding.EncodeToString(b),
		"p4ss", fmt.Sprint(b), fmt.Sprintf("% x", b), fmt.Sprintf("%U", []rune(plain)), fmt.Sprintf("%d", b),
	} {
		if strings.Contains(out, enc) {
			return true
		}
	}
	return false
}

type holder struct {
	Password Value
	Ptr      *Value
	hidden   Value // fmt prints unexported fields without calling methods
}

func TestValueRedactsInFmt(t *testing.T) {
	v := NewValue(plain)
	h := holder{Password: v, Ptr: &v, hidden: v}
	args := map[string]any{
		"value": v, "pointer": &v, "slice": []Value{v}, "map": map[string]Value{"K": v},
		"struct": h, "struct pointer": &h, "any slice": []any{v, &v},
		"error":         fmt.Errorf("wrap %v: %w", v, errors.New("x")),
		"reflect.Value": reflect.ValueOf(v),
	}
	// %p and %w are bad verbs for a Value (go vet rejects both): fmt prints
	// them without calling a method, and still sees only a pointer.
	verbs := []string{"p", "w", "v", "+v", "#v", "s", "q", "#q", "x", "X", "# x", "d", "b", "o", "O", "c", "U", "#U", "e", "E", "f", "F", "g", "G", "t", "T", "10s", "-20q", "08d", "+q", ".3s", "#x", "+d", " d"}
	for name, arg := range args {
		for _, verb := range verbs {
			out := fmt.Sprintf("%"+verb, arg)
			if leaks(out) {
				t.Errorf("%%%s of %s leaks: %s", verb, name, out)
			}
		}
		for _, out := range []string{fmt.Sprint(arg), fmt.Sprintln(arg), fmt.Sprint("x", arg, 1)} {
			if leaks(out) {
				t.Errorf("Sprint of %s leaks: %s", name, out)
			}
		}
	}
	if got := fmt.Sprint(v); got != redacted {
		t.Errorf("Sprint = %q, want %q", got, redacted)
	}
}

func TestValueRedactsInEncoders(t *testing.T) {
	v := NewValue(plain)
	type doc struct {
		XMLName  xml.Name `xml:"doc"`
		Password Value    `json:"password" xml:"password"`
		Attr     Value    `json:"attr" xml:"attr,attr"`
		Ptr      *Value   `json:"ptr" xml:"ptr"`
		Any      any      `json:"any" xml:"any"`
	}
	d := doc{Password: v, Attr: v, Ptr: &v, Any: v}
	encoders := map[string]func() ([]byte, error){
		"json struct":   func() ([]byte, error) { return json.Marshal(d) },
		"json map":      func() ([]byte, error) { return json.Marshal(map[string]Value{"K": v}) },
		"json any map":  func() ([]byte, error) { return json.Marshal(map[string]any{"K": v, "P": &v}) },
		"json slice":    func() ([]byte, error) { return json.MarshalIndent([]Value{v, v}, "", " ") },
		"xml struct":    func() ([]byte, error) { return xml.Marshal(d) },
		"text":          func() ([]byte, error) { return encodeText(v) },
		"json of value": func() ([]byte, error) { return json.Marshal(v) },
	}
	for name, enc := range encoders {
		out, err := enc()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if leaks(string(out)) {
			t.Errorf("%s leaks: %s", name, out)
		}
		if !bytes.Contains(out, []byte(redacted)) {
			t.Errorf("%s does not say %s: %s", name, redacted, out)
		}
	}
}

func TestValueRedactsInLogs(t *testing.T) {
	v := NewValue(plain)
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Interface("i", v).Any("a", v).Any("ap", &v).Stringer("s", v).
		Interface("m", map[string]Value{"K": v}).Interface("h", holder{Password: v, Ptr: &v}).
		Fields(map[string]any{"f": v}).Msgf("%v %d %x", v, v, v)
	log.Print(v)
	log.Error().Err(fmt.Errorf("cannot use %v", v)).Send()
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v, "h", holder{Password: v})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v, slog.Any("p", &v))
	if leaks(buf.String()) {
		t.Errorf("a log line leaks the secret:\n%s", buf.String())
	}
	if n := strings.Count(buf.String(), redacted); n < 10 {
		t.Errorf("only %d redacted markers in:\n%s", n, buf.String())
	}
}

func TestValueReveal(t *testing.T) {
	if got := NewValue(plain).Reveal(); got != plain {
		t.Errorf("Reveal = %q", got)
	}
	var zero Value
	if zero.Reveal() != "" || NewValue("").Reveal() != "" {
		t.Error("the zero value or an empty value reveals something")
	}
	if fmt.Sprint(zero) != redacted {
		t.Errorf("the zero value prints %q", fmt.Sprint(zero))
	}
}

func encodeText(v any) ([]byte, error) {
	m, ok := v.(interface{ MarshalText() ([]byte, error) })
	if !ok {
		return nil, errors.New("not an encoding.TextMarshaler")
	}
	return m.MarshalText()
}
