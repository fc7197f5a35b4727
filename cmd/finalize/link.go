package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/presign"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/units"
)

const linkUsage = `usage: finalize link [flags] <manifest key | session id>

Prints fresh presigned GET links to every object of a committed recording,
for answering "please send me the recording". The recording is found by its
manifest key, or by its session id (a listing of the bucket under --prefix).
Each link states when it stops working: the shorter of --expiry and the
expiry of the credentials that sign it (a task role's last hours, not days).

Exit codes: 0 links printed; 1 S3 or credentials failed; 2 usage error, or no
(or more than one) committed recording matches.

Flags:
`

// linkResult is what link prints with --json.
type linkResult struct {
	Session     string       `json:"session_id"`
	Room        string       `json:"room"`
	Bucket      string       `json:"bucket"`
	ManifestKey string       `json:"manifest_key"`
	CommittedAt time.Time    `json:"committed_at"`
	Links       []linkedFile `json:"links"`
}

type linkedFile struct {
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	VersionID string    `json:"version_id,omitempty"`
	Size      int64     `json:"size"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func runLink(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg := config.Defaults()
	fs := flag.NewFlagSet("finalize link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	expiry := fs.Duration("expiry", 24*time.Hour, "how long the links should work (capped by the credentials' expiry and 7 days)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := config.ApplyEnv(fs, getenv); err != nil {
		return fail(stderr, exitUsage, err, "fix the JIBRI_UPLOAD_* environment variables")
	}
	if code, ok := parseFlags(fs, linkUsage, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return fail(stderr, exitUsage, errors.New("link: expected one manifest key or session id"), "see finalize link --help")
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitUsage, err, "see finalize link --help")
	}
	client, err := s3conn.New(ctx, s3conn.Options{Region: cfg.Region, Endpoint: cfg.Endpoint, PathStyle: cfg.PathStyle, CABundle: cfg.CABundle,
		MaxAttempts: cfg.SDKAttempts, IOTimeout: cfg.IOTimeout})
	if err != nil {
		return fail(stderr, exitUsage, err, "check the region, endpoint and CA bundle")
	}
	key, err := findManifest(ctx, client, cfg, fs.Arg(0))
	if errors.Is(err, errNoMatch) {
		return fail(stderr, exitUsage, err, "pass the manifest key (finalize printed it, and so does the event), or check --bucket and --prefix")
	}
	if err != nil {
		return fail(stderr, exitInternal, err, "check the credentials and the bucket")
	}
	res, err := links(ctx, client, cfg.Bucket, key, *expiry)
	if err != nil {
		return fail(stderr, exitInternal, err, "check the credentials (s3:GetObject on the recordings) and the bucket")
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return fail(stderr, exitInternal, err, "")
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "recording %s (room %s), committed %s\n  manifest s3://%s/%s\n", res.Session, res.Room,
		res.CommittedAt.Format(time.RFC3339), res.Bucket, res.ManifestKey)
	for _, l := range res.Links {
		fmt.Fprintf(stdout, "  %s (%s), link valid until %s (%s from now):\n    %s\n", l.Name, units.Bytes(l.Size),
			l.ExpiresAt.Format(time.RFC3339), time.Until(l.ExpiresAt).Round(time.Minute), l.URL)
	}
	return exitOK
}

var errNoMatch = errors.New("link: no committed recording matches")

// findManifest returns the manifest key arg names: arg itself when it is
// one, else the one manifest whose key holds the session id arg.
func findManifest(ctx context.Context, client *s3.Client, cfg config.Config, arg string) (string, error) {
	if strings.HasSuffix(arg, manifest.FileName) {
		return arg, nil
	}
	if strings.ContainsAny(arg, "/ ") || arg == "" {
		return "", fmt.Errorf("%w %q: neither a manifest key nor a session id", errNoMatch, arg)
	}
	prefix := ""
	if strings.HasPrefix(cfg.KeyTemplate, "{prefix}") && cfg.Prefix != "" {
		prefix = cfg.Prefix + "/"
	}
	var found []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("link: cannot list s3://%s/%s: %w", cfg.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, manifest.FileName) && strings.Contains(k, arg) {
				found = append(found, k)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w session %q under s3://%s/%s", errNoMatch, arg, cfg.Bucket, prefix)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w exactly: %d manifests hold %q: %s", errNoMatch, len(found), arg, strings.Join(found, ", "))
}

func links(ctx context.Context, client *s3.Client, bucket, key string, expiry time.Duration) (*linkResult, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("link: cannot read the manifest s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, manifest.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("link: cannot read the manifest s3://%s/%s: %w", bucket, key, err)
	}
	m, err := manifest.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("link: s3://%s/%s: %w", bucket, key, err)
	}
	p := presign.New(client, client.Options().Credentials)
	res := &linkResult{Session: m.Recording.SessionID, Room: m.Recording.Room, Bucket: bucket, ManifestKey: key, CommittedAt: m.CompletedAt}
	for _, f := range m.Files {
		lk, err := p.Link(ctx, bucket, f.Key, f.VersionID, expiry)
		if err != nil {
			return nil, err
		}
		res.Links = append(res.Links, linkedFile{Name: f.Name, Key: f.Key, VersionID: f.VersionID, Size: f.Size, URL: lk.URL, ExpiresAt: lk.ExpiresAt})
	}
	return res, nil
}
