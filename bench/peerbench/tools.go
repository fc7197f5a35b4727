package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Tools, as named in the report.
const (
	toolOurs   = "finalize"
	toolOursNF = "finalize --faststart=false" // the same binary storing every file as written
	toolBare   = "bare manager.Uploader"
	toolAWS    = "aws CLI v2"
	toolRclone = "rclone"
	toolMC     = "mc"
)

// allTools is the order of the first run; later runs rotate it.
var allTools = []string{toolOurs, toolOursNF, toolBare, toolAWS, toolRclone, toolMC}

// toolAliases are the names -tools accepts.
var toolAliases = map[string]string{"bare": toolBare, "aws": toolAWS, "finalize-nofaststart": toolOursNF}

// peers are the tools operators use today.
var peers = []string{toolAWS, toolRclone, toolMC}

// paths locates the programs under test.
type paths struct {
	finalize, bare, aws, rclone, mc string
	work                            string // per-tool config directories
}

// spec is one process to run: the program, its argv after argv[0] and
// the environment on top of a clean one.
type spec struct {
	name string // argv[0]
	path string
	args []string
	env  []string
}

// settings are the knobs every tool gets where it has them.
type settings struct {
	partMiB     int64
	concurrency int
	// systemCA makes the Go tools trust the target through SSL_CERT_FILE
	// (as if its certificate were the system's only root) instead of their
	// CA-bundle option, which loads every system root before connecting.
	systemCA bool
}

// cleanEnv returns the environment without AWS_*, JIBRI_UPLOAD_*, MC_* or
// RCLONE_* variables, with HOME set to home so that no tool reads the
// user's configuration.
func cleanEnv(home string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc([]string{"AWS_", "JIBRI_UPLOAD_", "MC_", "RCLONE_", "HOME="}, func(p string) bool { return strings.HasPrefix(kv, p) }) {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home)
}

// command returns the process uploading rec to t with tool.
func (p paths) command(tool string, t *target, rec recording, s settings) (spec, error) {
	key := strings.ReplaceAll(tool, " ", "-") + "/" + rec.session + "/" + rec.name
	part := strconv.FormatInt(s.partMiB, 10)
	conc := strconv.Itoa(s.concurrency)
	creds := []string{"AWS_ACCESS_KEY_ID=" + t.accessKey, "AWS_SECRET_ACCESS_KEY=" + t.secretKey, "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	switch tool {
	case toolOurs, toolOursNF:
		// finalize leaves its state and journal (with --keep), which would
		// make the next run reuse the object instead of uploading it:
		// start every run from the recording as Jibri leaves it.
		if err := resetRecording(rec); err != nil {
			return spec{}, err
		}
		sse := "none"
		if t.sse {
			sse = "aes256"
		}
		env := append(creds,
			"JIBRI_UPLOAD_BUCKET="+benchBucket,
			"JIBRI_UPLOAD_ENDPOINT="+t.endpoint,
			"JIBRI_UPLOAD_PATH_STYLE=true",
			"JIBRI_UPLOAD_PART_SIZE="+part,
			"JIBRI_UPLOAD_CONCURRENCY="+conc,
			"JIBRI_UPLOAD_SSE="+sse,
			"JIBRI_UPLOAD_KEEP=true",
			"JIBRI_UPLOAD_METRICS_FILE=none",
			"JIBRI_UPLOAD_LOG_FORMAT=json",
			"JIBRI_UPLOAD_FASTSTART="+strconv.FormatBool(tool == toolOurs),
			// The null endpoint stands in for S3, which checks the
			// full-object CRC. --verify auto would probe it, find that it
			// accepts wrong checksums and read every object back, which
			// it cannot serve.
			"JIBRI_UPLOAD_VERIFY=checksum",
		)
		if s.systemCA {
			env = append(env, "SSL_CERT_FILE="+t.caFile)
		} else {
			env = append(env, "JIBRI_UPLOAD_CA_BUNDLE="+t.caFile)
		}
		return spec{name: "finalize", path: p.finalize, args: []string{rec.dir}, env: env}, nil
	case toolBare:
		sse := "none"
		if t.sse {
			sse = "aes256"
		}
		args := []string{"-endpoint", t.endpoint, "-bucket", benchBucket, "-key", key, "-file", rec.media,
			"-part-size", part, "-concurrency", conc, "-sse", sse}
		env := creds
		if s.systemCA {
			env = append(env, "SSL_CERT_FILE="+t.caFile)
		} else {
			args = append(args, "-ca-bundle", t.caFile)
		}
		return spec{name: "bareupload", path: p.bare, args: args, env: env}, nil
	case toolAWS:
		cfg, err := p.awsConfig(s)
		if err != nil {
			return spec{}, err
		}
		args := []string{"s3", "cp", rec.media, "s3://" + benchBucket + "/" + key,
			"--endpoint-url", t.endpoint, "--ca-bundle", t.caFile, "--no-progress", "--only-show-errors"}
		if t.sse {
			args = append(args, "--sse", "AES256")
		}
		env := append(creds, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		return spec{name: "aws", path: p.aws, args: args, env: env}, nil
	case toolRclone:
		provider := "Other"
		if t.null == nil {
			provider = "Minio"
		}
		args := []string{"copyto", rec.media, "bench:" + benchBucket + "/" + key,
			"--s3-chunk-size", part + "M", "--s3-upload-cutoff", part + "M", "--s3-upload-concurrency", conc,
			"--s3-no-check-bucket", "-q"}
		if !s.systemCA {
			args = append(args, "--ca-cert", t.caFile)
		}
		if t.sse {
			args = append(args, "--s3-server-side-encryption", "AES256")
		}
		if t.null != nil {
			// The null endpoint's ETags are not MD5s, which rclone checks
			// after a single-part upload; it still reads the file for the
			// whole-file MD5 it stores as metadata.
			args = append(args, "--ignore-checksum")
		}
		env := []string{
			"RCLONE_CONFIG=" + filepath.Join(p.work, "rclone.conf"),
			"RCLONE_CONFIG_BENCH_TYPE=s3",
			"RCLONE_CONFIG_BENCH_PROVIDER=" + provider,
			"RCLONE_CONFIG_BENCH_ENDPOINT=" + t.endpoint,
			"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=" + t.accessKey,
			"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=" + t.secretKey,
			"RCLONE_CONFIG_BENCH_REGION=us-east-1",
			"RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true",
		}
		if s.systemCA {
			env = append(env, "SSL_CERT_FILE="+t.caFile)
		}
		return spec{name: "rclone", path: p.rclone, args: args, env: env}, nil
	case toolMC:
		cfg, err := p.mcConfig(t)
		if err != nil {
			return spec{}, err
		}
		host := strings.Replace(t.endpoint, "https://", "https://"+t.accessKey+":"+t.secretKey+"@", 1)
		args := []string{"--config-dir", cfg, "--quiet", "--no-color", "cp", rec.media, "bench/" + benchBucket + "/" + key}
		if t.sse {
			args = append(args, "--enc-s3", "bench/"+benchBucket)
		}
		// mc has no flags for these; it reads them from the environment.
		env := []string{"MC_HOST_bench=" + host, "MC_UPLOAD_MULTIPART_SIZE=" + part + "MiB", "MC_UPLOAD_MULTIPART_THREADS=" + conc}
		return spec{name: "mc", path: p.mc, args: args, env: env}, nil
	}
	return spec{}, fmt.Errorf("unknown tool %q", tool)
}

// resetRecording removes everything but metadata.json and the media file
// from the recording directory.
func resetRecording(rec recording) error {
	entries, err := os.ReadDir(rec.dir)
	if err != nil {
		return fmt.Errorf("cannot reset the recording: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "metadata.json" || e.Name() == rec.name {
			continue
		}
		if err := os.RemoveAll(filepath.Join(rec.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot reset the recording: %w", err)
		}
	}
	return nil
}

// awsConfig writes the aws CLI's config with our part size and concurrency.
func (p paths) awsConfig(s settings) (string, error) {
	path := filepath.Join(p.work, "aws-config")
	cfg := fmt.Sprintf("[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = %d\n  multipart_chunksize = %dMB\n  multipart_threshold = %dMB\n  addressing_style = path\n",
		s.concurrency, s.partMiB, s.partMiB)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("cannot write the aws CLI config: %w", err)
	}
	return path, nil
}

// mcConfig makes an mc configuration directory trusting t's certificate.
func (p paths) mcConfig(t *target) (string, error) {
	dir := filepath.Join(p.work, "mc-"+strings.Fields(t.name)[0])
	cas := filepath.Join(dir, "certs", "CAs")
	if err := os.MkdirAll(cas, 0o700); err != nil {
		return "", fmt.Errorf("cannot create the mc config: %w", err)
	}
	pem, err := os.ReadFile(t.caFile)
	if err != nil {
		return "", fmt.Errorf("cannot read the CA: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cas, "bench.crt"), pem, 0o600); err != nil {
		return "", fmt.Errorf("cannot write the CA for mc: %w", err)
	}
	return dir, nil
}
