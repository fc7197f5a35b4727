package opscheck

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

var (
	rulesFile     = repoPath("docker", "monitoring", "jibri-s3.rules.yml")
	ruleTestsFile = repoPath("docker", "monitoring", "jibri-s3.rules.test.yml")
	dashboardFile = repoPath("docker", "monitoring", "grafana", "jibri-s3.json")
	monitoringDoc = repoPath("docs", "monitoring.md")
)

// pending are the families other work adds to recwatch's /metrics (the MP4 playability check and
// webhook events); the rules and the dashboard use them already. Absent, they are accepted;
// present, they must be of this type.
var pending = map[string]dto.MetricType{
	"jibri_recordings_unplayable_total":   dto.MetricType_COUNTER,
	"jibri_events_pending":                dto.MetricType_GAUGE,
	"jibri_events_oldest_pending_seconds": dto.MetricType_GAUGE,
	"jibri_events_failed_total":           dto.MetricType_COUNTER,
}

// scrape are series Prometheus itself adds to every target.
var scrape = []string{"up"}

// registered returns the series names a running recwatch serves (histograms with their _bucket,
// _sum and _count), and its families by name.
func registered(t *testing.T) (map[string]bool, map[string]*dto.MetricFamily) {
	t.Helper()
	names, fams := map[string]bool{}, map[string]*dto.MetricFamily{}
	for n, mf := range served {
		fams[n] = mf
		names[n] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		}
	}
	for n, typ := range pending {
		if mf, ok := fams[n]; ok {
			if mf.GetType() != typ {
				t.Errorf("%s is served as a %v; the rules and dashboard read it as a %v", n, mf.GetType(), typ)
			}
		} else {
			t.Logf("%s is not served yet; accepted as pending", n)
			names[n] = true
		}
	}
	for _, n := range scrape {
		names[n] = true
	}
	return names, fams
}

// selectors parses a PromQL expression and returns the metric names it selects.
func selectors(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				names = append(names, "<no metric name>")
			} else {
				names = append(names, vs.Name)
			}
		}
		return nil
	})
	return names, nil
}

// grafanaVars replaces the dashboard's variables with what Grafana would put there.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$instance", ".*", "$job", ".*")

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// decodeYAML decodes a file into v; strict: a field v does not declare is an error.
func decodeYAML(t *testing.T, path string, v any, strict bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(strict)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAlertRules(t *testing.T) {
	known, _ := registered(t)
	var rf ruleFile
	decodeYAML(t, rulesFile, &rf, true)
	doc, err := os.ReadFile(monitoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	anchors := markdownAnchors(string(doc))

	seen := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule without alert (recording rules are not expected here)", g.Name)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			names, err := selectors(r.Expr)
			if err != nil {
				t.Errorf("%s: expr does not parse: %v", r.Alert, err)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("%s: selects %s, which recwatch does not export", r.Alert, n)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if want := "docs/monitoring.md#" + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			} else if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("%s: docs/monitoring.md has no section %q for its runbook_url", r.Alert, r.Alert)
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d alerts", len(seen))
	}

	// Every alert has a promtool case where it fires and one where it stays quiet.
	var rt ruleTests
	decodeYAML(t, ruleTestsFile, &rt, false)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range rt.Tests {
		for _, s := range tc.InputSeries {
			names, err := selectors(s.Series)
			if err != nil {
				t.Errorf("test %q: series %q: %v", tc.Name, s.Series, err)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("test %q: input series %s is not one recwatch exports", tc.Name, n)
				}
			}
		}
		for _, a := range tc.AlertRuleTest {
			if !seen[a.Alertname] {
				t.Errorf("test %q: alert %s is not in the rules", tc.Name, a.Alertname)
			}
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for a := range seen {
		if !fires[a] || !quiet[a] {
			t.Errorf("%s: promtool cases firing %v, quiet %v; want both", a, fires[a], quiet[a])
		}
	}
}

// markdownAnchors returns the GitHub anchors of a document's headings.
func markdownAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return out
}

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func TestDashboard(t *testing.T) {
	known, fams := registered(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not JSON a dashboard decodes from: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q uid %q", d.Title, d.UID)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["instance"] != "query" || vars["job"] != "query" {
		t.Errorf("template variables %v, want datasource, job and instance", vars)
	}

	used := map[string]bool{}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, p.GridPos)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				names, err := selectors(grafanaVars.Replace(tg.Expr))
				if err != nil {
					t.Errorf("panel %q target %s: %v\n%s", p.Title, tg.RefID, err, tg.Expr)
				}
				for _, n := range names {
					if !known[n] {
						t.Errorf("panel %q target %s: %s is not a series recwatch exports", p.Title, tg.RefID, n)
					}
					used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
					used[n] = true
				}
			}
		}
	}
	walk(d.Panels)

	// Every series of recwatch's own is on the dashboard (the Go runtime's and the process's are not).
	for n := range fams {
		if strings.HasPrefix(n, "jibri_") && !used[n] {
			t.Errorf("recwatch exports %s, but no panel shows it", n)
		}
	}
	for n := range pending {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

func TestSelectors(t *testing.T) {
	// The name extraction itself, so the checks above cannot pass on an empty list.
	for _, tc := range []struct {
		expr string
		want []string
		bad  bool
	}{
		{expr: `sum by (le) (rate(jibri_upload_seconds_bucket{instance=~".*"}[5m]))`, want: []string{"jibri_upload_seconds_bucket"}},
		{expr: `a / (b + c) < 0.95`, want: []string{"a", "b", "c"}},
		{expr: `{state="stuck"}`, want: []string{"<no metric name>"}},
		{expr: `sum(rate(x[5m])`, bad: true},
	} {
		got, err := selectors(tc.expr)
		if tc.bad != (err != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("selectors(%q) = %v, %v; want %v (error %v)", tc.expr, got, err, tc.want, tc.bad)
		}
	}
	if fmt.Sprint(markdownAnchors("## JibriS3RecordingsStuck\n### Not `this`, that")) != "map[jibris3recordingsstuck:true not-this-that:true]" {
		t.Error("markdownAnchors")
	}
}
