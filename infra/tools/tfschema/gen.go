package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The cdktf provider packages (@cdktf/provider-*) are generated from the provider schema. Each
// resource directory holds index.js (the HCL mapping of every attribute and block, with its
// collection kind and element type) and index.d.ts (which properties are optional). Computed-only
// top-level attributes show as getters of the resource class that are not in its configuration.

var (
	reFuncHdr   = regexp.MustCompile(`(?m)^function (\w+)ToHclTerraform\(struct\) \{`)
	reSynth     = regexp.MustCompile(`(?m)^    synthesizeHclAttributes\(\) \{`)
	reSegEnd    = regexp.MustCompile(`(?m)^(class |function |exports\.|\w+\.tfResourceType)`)
	reEntry     = regexp.MustCompile(`(?s)(\w+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",\s*\}`)
	reCamel     = regexp.MustCompile(`(?:struct\.|this\._)(\w+)`)
	reStructRef = regexp.MustCompile(`(\w+\.)?(\w+)ToHclTerraform`)
	reClass     = regexp.MustCompile(`(?m)^class (\w+) extends cdktf\.Terraform(Resource|DataSource|Provider) \{`)
	reTFType    = regexp.MustCompile(`(?m)^(\w+)\.tfResourceType = "(\w+)";`)
	reGetter    = regexp.MustCompile(`get (\w+)\(\) \{\s*return this\.get(\w+)Attribute\('(\w+)'\);`)
	reIface     = regexp.MustCompile(`(?m)^export interface (\w+)(?: extends [\w.]+)? \{`)
	reProp      = regexp.MustCompile(`(?m)^    readonly (\w+)(\??):`)
	reDeclFn    = regexp.MustCompile(`export declare function (\w+)ToHclTerraform\(struct\?: (\w+)`)
)

type entry struct {
	name, camel, fn           string
	isBlock                   bool
	kind, storage, structName string
}

type pkgIndex struct {
	funcs     map[string][]entry         // struct function name -> entries
	funcIface map[string]string          // struct function name -> interface
	ifaces    map[string]map[string]bool // interface -> camel property -> optional
	topLevel  []topLevel                 // resources, data sources, provider
}

type topLevel struct {
	tfType, kind, class string
	entries             []entry
	getters             map[string]string // snake -> getter kind (String, Number, List, ...)
}

func generate(pkgDir, out string) error {
	idx := &pkgIndex{funcs: map[string][]entry{}, funcIface: map[string]string{}, ifaces: map[string]map[string]bool{}}
	dirs, err := filepath.Glob(filepath.Join(pkgDir, "lib", "*", "index.js"))
	if err != nil {
		return err
	}
	for _, js := range dirs {
		if err := idx.readDir(filepath.Dir(js)); err != nil {
			return err
		}
	}
	s := &Schema{Resources: map[string]*Block{}, DataSources: map[string]*Block{}}
	for _, tl := range idx.topLevel {
		b, err := idx.block(tl.entries, tl.class+"Config", 0, false)
		if err != nil {
			return fmt.Errorf("%s: %w", tl.tfType, err)
		}
		have := map[string]bool{}
		for _, a := range b.Attributes {
			have[a.Name] = true
			// The packages do not say which optional arguments the provider also computes
			// (Optional+Computed: aws_iam_role.name from name_prefix, aws_region.region), so
			// every optional top-level argument of a resource or data source is taken as
			// computed too: mocks then fill what the configuration leaves unset.
			if a.Optional && tl.kind != "Provider" {
				a.Computed = true
			}
		}
		for _, nb := range b.Blocks {
			have[nb.Name] = true
		}
		for snake, g := range tl.getters {
			if have[snake] {
				continue
			}
			if t := getterType(g); t != "" {
				b.Attributes = append(b.Attributes, &Attribute{Name: snake, Type: json.RawMessage(t), Computed: true})
			}
		}
		b.sort()
		switch tl.kind {
		case "Resource":
			s.Resources[tl.tfType] = b
		case "DataSource":
			s.DataSources[tl.tfType] = b
		case "Provider":
			s.Provider = b
		}
	}
	if s.Provider == nil {
		return fmt.Errorf("%s: no provider class found", pkgDir)
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

func getterType(g string) string {
	switch g {
	case "String":
		return `"string"`
	case "Number":
		return `"number"`
	case "Boolean":
		return `"bool"`
	case "List":
		return `["list","string"]`
	case "NumberList":
		return `["list","number"]`
	case "StringMap":
		return `["map","string"]`
	case "NumberMap":
		return `["map","number"]`
	case "BooleanMap":
		return `["map","bool"]`
	}
	return ""
}

func (idx *pkgIndex) readDir(dir string) error {
	jsb, err := os.ReadFile(filepath.Join(dir, "index.js"))
	if err != nil {
		return err
	}
	dts, err := os.ReadFile(filepath.Join(dir, "index.d.ts"))
	if err != nil {
		return err
	}
	js := string(jsb)
	idx.readDecl(string(dts))
	for _, m := range reFuncHdr.FindAllStringSubmatchIndex(js, -1) {
		idx.funcs[js[m[2]:m[3]]] = entries(js[m[1]:segEnd(js, m[1])])
	}
	cm := reClass.FindStringSubmatchIndex(js)
	if cm == nil {
		return nil
	}
	class, kind := js[cm[2]:cm[3]], js[cm[4]:cm[5]]
	tl := topLevel{class: class, kind: kind, getters: map[string]string{}}
	for _, m := range reTFType.FindAllStringSubmatch(js, -1) {
		if m[1] == class {
			tl.tfType = m[2]
		}
	}
	if tl.tfType == "" {
		return fmt.Errorf("%s: no tfResourceType for %s", dir, class)
	}
	body := js[cm[1]:]
	if e := strings.Index(body, "\n"+class+".tfResourceType"); e >= 0 {
		body = body[:e]
	}
	if sm := reSynth.FindStringIndex(body); sm != nil {
		tl.entries = entries(body[sm[1]:])
	}
	for _, g := range reGetter.FindAllStringSubmatch(body, -1) {
		tl.getters[g[3]] = g[2]
	}
	idx.topLevel = append(idx.topLevel, tl)
	return nil
}

func segEnd(js string, from int) int {
	if m := reSegEnd.FindStringIndex(js[from:]); m != nil {
		return from + m[0]
	}
	return len(js)
}

func entries(seg string) []entry {
	if i := strings.Index(seg, "return Object.fromEntries("); i >= 0 {
		seg = seg[:i]
	}
	var out []entry
	for _, m := range reEntry.FindAllStringSubmatch(seg, -1) {
		e := entry{name: m[1], isBlock: m[3] == "true", kind: m[4], storage: m[5]}
		if c := reCamel.FindStringSubmatch(m[2]); c != nil {
			e.camel = c[1]
		}
		for _, r := range reStructRef.FindAllStringSubmatch(m[2], -1) {
			if r[1] != "cdktf." {
				e.fn = r[2]
			}
		}
		out = append(out, e)
	}
	return out
}

func (idx *pkgIndex) readDecl(dts string) {
	for _, m := range reDeclFn.FindAllStringSubmatch(dts, -1) {
		idx.funcIface[m[1]] = m[2]
	}
	locs := reIface.FindAllStringSubmatchIndex(dts, -1)
	for i, m := range locs {
		end := len(dts)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := dts[m[1]:end]
		if e := strings.Index(body, "\n}"); e >= 0 {
			body = body[:e]
		}
		props := map[string]bool{}
		for _, p := range reProp.FindAllStringSubmatch(body, -1) {
			props[p[1]] = p[2] == "?"
		}
		idx.ifaces[dts[m[2]:m[3]]] = props
	}
}

// block builds the schema block of a struct from its entries; iface names its TypeScript interface.
// inSet is true inside a set-nested block, where dynamic types are not allowed.
func (idx *pkgIndex) block(es []entry, iface string, depth int, inSet bool) (*Block, error) {
	if depth > 20 {
		return nil, fmt.Errorf("nesting too deep at %s", iface)
	}
	props := idx.ifaces[iface]
	b := &Block{}
	for _, e := range es {
		optional, known := props[e.camel]
		required := known && !optional
		if e.fn == "" && !isPrimitiveStorage(e.storage) && !e.isBlock && e.storage != "any" {
			return nil, fmt.Errorf("%s.%s: no struct function for %s", iface, e.name, e.storage)
		}
		if e.fn != "" {
			inner, err := idx.block(idx.funcs[e.fn], idx.funcIface[e.fn], depth+1, inSet || (e.isBlock && blockKind(e) == "set"))
			if err != nil {
				return nil, err
			}
			if e.isBlock {
				nb := &NestedBlk{Name: e.name, Nesting: blockKind(e), Block: inner}
				if required && nb.Nesting != "single" {
					nb.MinItems = 1
				}
				b.Blocks = append(b.Blocks, nb)
				continue
			}
			if len(inner.Blocks) > 0 {
				return nil, fmt.Errorf("%s.%s: nested attribute with blocks", iface, e.name)
			}
			b.Attributes = append(b.Attributes, &Attribute{
				Name: e.name, Nested: &NestedAttr{Nesting: attrKind(e), Attributes: inner.Attributes},
				Required: required, Optional: !required,
			})
			continue
		}
		t, err := leafType(e)
		if inSet && strings.Contains(t, `"dynamic"`) {
			// Terraform forbids dynamic types in set blocks; cdktf says "any" where the
			// provider's schema is too deep for it (e.g. wafv2 statements): JSON strings fit.
			t = strings.ReplaceAll(t, `"dynamic"`, `"string"`)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", iface, e.name, err)
		}
		b.Attributes = append(b.Attributes, &Attribute{Name: e.name, Type: json.RawMessage(t), Required: required, Optional: !required})
	}
	return b, nil
}

func blockKind(e entry) string {
	switch e.kind {
	case "set":
		return "set"
	case "struct":
		return "single"
	}
	return "list"
}

func attrKind(e entry) string {
	switch e.kind {
	case "list", "set", "map":
		return e.kind
	case "simple":
		if strings.HasSuffix(e.storage, "List") {
			return "list"
		}
		if strings.HasSuffix(e.storage, "Map") {
			return "map"
		}
	}
	return "single"
}

var primitives = map[string]string{"string": `"string"`, "number": `"number"`, "boolean": `"bool"`, "any": `"dynamic"`}

func isPrimitiveStorage(s string) bool {
	for p := range primitives {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// leafType turns a storage class such as "stringList" or "stringMapList" into a cty JSON type;
// the outermost collection is a set when the entry says so.
func leafType(e entry) (string, error) {
	s := e.storage
	var suffixes []string
	for {
		switch {
		case strings.HasSuffix(s, "List"):
			suffixes = append(suffixes, "list")
			s = strings.TrimSuffix(s, "List")
			continue
		case strings.HasSuffix(s, "Map"):
			suffixes = append(suffixes, "map")
			s = strings.TrimSuffix(s, "Map")
			continue
		}
		break
	}
	t, ok := primitives[s]
	if !ok {
		return "", fmt.Errorf("unknown storage class %q", e.storage)
	}
	for i := len(suffixes) - 1; i >= 0; i-- {
		kind := suffixes[i]
		if i == 0 && kind == "list" && e.kind == "set" {
			kind = "set"
		}
		t = fmt.Sprintf(`[%q,%s]`, kind, t)
	}
	return t, nil
}
