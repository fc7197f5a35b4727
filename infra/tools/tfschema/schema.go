package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Schema is the provider schema the generator writes and the server reads.
type Schema struct {
	Provider    *Block            `json:"provider"`
	Resources   map[string]*Block `json:"resources"`
	DataSources map[string]*Block `json:"data_sources"`
}

// Block is a configuration block: attributes and nested blocks.
type Block struct {
	Attributes []*Attribute `json:"attributes,omitempty"`
	Blocks     []*NestedBlk `json:"blocks,omitempty"`
}

// Attribute is one attribute. Type is a cty JSON type ("string", ["list","string"], ...);
// Nested, when set, makes it a nested attribute (protocol 6) and Type is empty.
type Attribute struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type,omitempty"`
	Nested   *NestedAttr     `json:"nested,omitempty"`
	Required bool            `json:"required,omitempty"`
	Optional bool            `json:"optional,omitempty"`
	Computed bool            `json:"computed,omitempty"`
}

// NestedAttr is the object type of a nested attribute.
type NestedAttr struct {
	Nesting    string       `json:"nesting"` // single, list, set, map
	Attributes []*Attribute `json:"attributes"`
}

// NestedBlk is a nested block type.
type NestedBlk struct {
	Name     string `json:"name"`
	Nesting  string `json:"nesting"` // single, list, set
	MinItems int64  `json:"min_items,omitempty"`
	Block    *Block `json:"block"`
}

func (b *Block) sort() {
	sort.Slice(b.Attributes, func(i, j int) bool { return b.Attributes[i].Name < b.Attributes[j].Name })
	sort.Slice(b.Blocks, func(i, j int) bool { return b.Blocks[i].Name < b.Blocks[j].Name })
	for _, a := range b.Attributes {
		if a.Nested != nil {
			sort.Slice(a.Nested.Attributes, func(i, j int) bool { return a.Nested.Attributes[i].Name < a.Nested.Attributes[j].Name })
		}
	}
	for _, nb := range b.Blocks {
		nb.Block.sort()
	}
}

func loadSchema(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schema: cannot read: %w", err)
	}
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("schema: cannot decode %s: %w", path, err)
	}
	return &s, nil
}

// ctyType converts a cty JSON type to a tftypes.Type.
func ctyType(raw json.RawMessage) (tftypes.Type, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		switch name {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown primitive type %q", name)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("bad type %s", raw)
	}
	if err := json.Unmarshal(pair[0], &name); err != nil {
		return nil, fmt.Errorf("bad type %s", raw)
	}
	elem, err := ctyType(pair[1])
	if err != nil {
		return nil, err
	}
	switch name {
	case "list":
		return tftypes.List{ElementType: elem}, nil
	case "set":
		return tftypes.Set{ElementType: elem}, nil
	case "map":
		return tftypes.Map{ElementType: elem}, nil
	}
	return nil, fmt.Errorf("unknown collection type %q", name)
}

var attrNesting = map[string]tfprotov6.SchemaObjectNestingMode{
	"single": tfprotov6.SchemaObjectNestingModeSingle,
	"list":   tfprotov6.SchemaObjectNestingModeList,
	"set":    tfprotov6.SchemaObjectNestingModeSet,
	"map":    tfprotov6.SchemaObjectNestingModeMap,
}

var blockNesting = map[string]tfprotov6.SchemaNestedBlockNestingMode{
	"single": tfprotov6.SchemaNestedBlockNestingModeSingle,
	"list":   tfprotov6.SchemaNestedBlockNestingModeList,
	"set":    tfprotov6.SchemaNestedBlockNestingModeSet,
}

func protoAttrs(in []*Attribute) ([]*tfprotov6.SchemaAttribute, error) {
	out := make([]*tfprotov6.SchemaAttribute, 0, len(in))
	for _, a := range in {
		pa := &tfprotov6.SchemaAttribute{Name: a.Name, Required: a.Required, Optional: a.Optional, Computed: a.Computed}
		if a.Nested != nil {
			inner, err := protoAttrs(a.Nested.Attributes)
			if err != nil {
				return nil, err
			}
			pa.NestedType = &tfprotov6.SchemaObject{Nesting: attrNesting[a.Nested.Nesting], Attributes: inner}
		} else {
			t, err := ctyType(a.Type)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
			}
			pa.Type = t
		}
		out = append(out, pa)
	}
	return out, nil
}

func protoBlock(b *Block) (*tfprotov6.SchemaBlock, error) {
	attrs, err := protoAttrs(b.Attributes)
	if err != nil {
		return nil, err
	}
	pb := &tfprotov6.SchemaBlock{Attributes: attrs}
	for _, nb := range b.Blocks {
		inner, err := protoBlock(nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", nb.Name, err)
		}
		pb.BlockTypes = append(pb.BlockTypes, &tfprotov6.SchemaNestedBlock{
			TypeName: nb.Name, Nesting: blockNesting[nb.Nesting], MinItems: nb.MinItems, Block: inner,
		})
	}
	return pb, nil
}

func protoSchema(b *Block) (*tfprotov6.Schema, error) {
	pb, err := protoBlock(b)
	if err != nil {
		return nil, err
	}
	return &tfprotov6.Schema{Block: pb}, nil
}
