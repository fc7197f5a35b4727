// Command tfschema rebuilds a Terraform provider's schema from its generated cdktf npm package
// and serves that schema as a schema-only provider (plugin protocol 6), so that `tofu init`,
// `tofu validate` and `tofu test` with mock_provider run with no registry and no network.
//
//	tfschema gen PACKAGE_DIR OUT.json   # PACKAGE_DIR is the unpacked npm package (has lib/)
//	tfschema serve SCHEMA.json          # run by tofu as terraform-provider-NAME
//
// The served provider validates configuration against the schema and refuses to plan, read or
// apply: it exists for offline validation only.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tfschema:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 3 && args[0] == "gen" {
		return generate(args[1], args[2])
	}
	if len(args) == 3 && args[0] == "serve" {
		s, err := loadSchema(args[2])
		if err != nil {
			return err
		}
		p, err := newProvider(s)
		if err != nil {
			return err
		}
		return tf6server.Serve(args[1], func() tfprotov6.ProviderServer { return p })
	}
	if len(args) == 2 && args[0] == "check" {
		s, err := loadSchema(args[1])
		if err != nil {
			return err
		}
		_, err = newProvider(s)
		if err == nil {
			fmt.Printf("%d resources, %d data sources\n", len(s.Resources), len(s.DataSources))
		}
		return err
	}
	return fmt.Errorf("usage: tfschema gen PACKAGE_DIR OUT.json | serve ADDRESS SCHEMA.json | check SCHEMA.json")
}

// provider is a schema-only tfprotov6.ProviderServer. The embedded interface is nil: methods
// that tofu only calls to change real infrastructure are not implemented.
type provider struct {
	tfprotov6.ProviderServer
	schema *tfprotov6.GetProviderSchemaResponse
}

func newProvider(s *Schema) (*provider, error) {
	resp := &tfprotov6.GetProviderSchemaResponse{
		ServerCapabilities:       &tfprotov6.ServerCapabilities{PlanDestroy: true},
		ResourceSchemas:          map[string]*tfprotov6.Schema{},
		DataSourceSchemas:        map[string]*tfprotov6.Schema{},
		Functions:                map[string]*tfprotov6.Function{},
		EphemeralResourceSchemas: map[string]*tfprotov6.Schema{},
		ListResourceSchemas:      map[string]*tfprotov6.Schema{},
		ActionSchemas:            map[string]*tfprotov6.ActionSchema{},
	}
	var err error
	if resp.Provider, err = protoSchema(s.Provider); err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	for name, b := range s.Resources {
		if resp.ResourceSchemas[name], err = protoSchema(b); err != nil {
			return nil, fmt.Errorf("resource %s: %w", name, err)
		}
	}
	for name, b := range s.DataSources {
		if resp.DataSourceSchemas[name], err = protoSchema(b); err != nil {
			return nil, fmt.Errorf("data source %s: %w", name, err)
		}
	}
	return &provider{schema: resp}, nil
}

func unsupported(what string) []*tfprotov6.Diagnostic {
	return []*tfprotov6.Diagnostic{{
		Severity: tfprotov6.DiagnosticSeverityError,
		Summary:  "schema-only provider",
		Detail:   what + " is not supported: this provider only carries the schema, for offline validation (use mock_provider in tofu test)",
	}}
}

func (p *provider) GetMetadata(context.Context, *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	resp := &tfprotov6.GetMetadataResponse{ServerCapabilities: p.schema.ServerCapabilities}
	for name := range p.schema.ResourceSchemas {
		resp.Resources = append(resp.Resources, tfprotov6.ResourceMetadata{TypeName: name})
	}
	for name := range p.schema.DataSourceSchemas {
		resp.DataSources = append(resp.DataSources, tfprotov6.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

func (p *provider) GetProviderSchema(context.Context, *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	return p.schema, nil
}

func (p *provider) GetResourceIdentitySchemas(context.Context, *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov6.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov6.ResourceIdentitySchema{}}, nil
}

func (p *provider) GetFunctions(context.Context, *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return &tfprotov6.GetFunctionsResponse{Functions: map[string]*tfprotov6.Function{}}, nil
}

func (p *provider) ValidateProviderConfig(_ context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return &tfprotov6.ValidateProviderConfigResponse{PreparedConfig: req.Config}, nil
}

func (p *provider) ConfigureProvider(context.Context, *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return &tfprotov6.ConfigureProviderResponse{}, nil
}

func (p *provider) StopProvider(context.Context, *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	return &tfprotov6.StopProviderResponse{}, nil
}

func (p *provider) ValidateResourceConfig(context.Context, *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return &tfprotov6.ValidateResourceConfigResponse{}, nil
}

func (p *provider) ValidateDataResourceConfig(context.Context, *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return &tfprotov6.ValidateDataResourceConfigResponse{}, nil
}

// UpgradeResourceState decodes stored state with the current schema (tofu test
// reads back the state of earlier runs this way, even with mock providers).
func (p *provider) UpgradeResourceState(_ context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	s, ok := p.schema.ResourceSchemas[req.TypeName]
	if !ok {
		return &tfprotov6.UpgradeResourceStateResponse{Diagnostics: unsupported("unknown resource type " + req.TypeName)}, nil
	}
	typ := s.ValueType()
	if req.RawState == nil {
		dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
		return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &dv}, err
	}
	v, err := req.RawState.UnmarshalWithOpts(typ, tfprotov6.UnmarshalOpts{
		ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true},
	})
	if err != nil {
		return &tfprotov6.UpgradeResourceStateResponse{Diagnostics: []*tfprotov6.Diagnostic{{
			Severity: tfprotov6.DiagnosticSeverityError, Summary: "cannot decode state", Detail: err.Error(),
		}}}, nil
	}
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &dv}, err
}

func (p *provider) ReadResource(context.Context, *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return &tfprotov6.ReadResourceResponse{Diagnostics: unsupported("reading a resource")}, nil
}

func (p *provider) PlanResourceChange(context.Context, *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return &tfprotov6.PlanResourceChangeResponse{Diagnostics: unsupported("planning")}, nil
}

func (p *provider) ApplyResourceChange(context.Context, *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return &tfprotov6.ApplyResourceChangeResponse{Diagnostics: unsupported("applying")}, nil
}

func (p *provider) ImportResourceState(context.Context, *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return &tfprotov6.ImportResourceStateResponse{Diagnostics: unsupported("import")}, nil
}

func (p *provider) ReadDataSource(context.Context, *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return &tfprotov6.ReadDataSourceResponse{Diagnostics: unsupported("reading a data source")}, nil
}
