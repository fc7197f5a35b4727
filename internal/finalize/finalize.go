package finalize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/cleanup"
	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/keytmpl"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

// Uploader uploads and verifies one file (package upload).
type Uploader interface {
	Upload(ctx context.Context, m recording.Media, obj upload.Object) (upload.Verified, error)
	Algorithm() checksum.Algorithm
}

// ManifestWriter stores the manifest object (and reads back a manifest an
// earlier run committed, to extend it).
type ManifestWriter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Events queues the event of a committed recording durably in the
// recordings root (package outbox). An error fails the run (files kept,
// retried): a commit whose event could be lost is not finished.
type Events interface {
	Enqueue(root string, ev *event.Event, now time.Time) error
}

// Config is what the pipeline needs beyond its collaborators.
type Config struct {
	Bucket      string
	Prefix      string
	Template    *keytmpl.Template
	SSE         string
	KMSKeyID    string
	Deadline    time.Duration // whole run, upload and cleanup
	Backoff     Backoff
	Keep        bool // upload and commit, but do not delete local files
	Force       bool // accept directories not named like Jibri's
	Namespace   string
	Environment string
	Source      string // "finalize" or "recwatch", for metrics
	// LockWait is how long Run waits for a lock another process holds
	// (a status probe holds it for an instant).
	LockWait time.Duration
	// Hold, when positive, bounds how long Run keeps Jibri waiting: a
	// recording not committed within Hold is handed off to the watcher
	// (no new part is started, the record says so, the lock is released)
	// and Run returns a Result with HandedOff set. Zero: never hand off.
	Hold time.Duration
	// Hook: this run is Jibri's finalize hook (its run time is the time
	// Jibri is held, reported as HookSeconds).
	Hook bool
	// Events, when set, queues the event of each committed recording
	// (webhooks): after the manifest is stored and before the commit is
	// recorded, so a recorded commit always has its event queued.
	Events Events
	// Failpoint, when set, is called at named stages (fault-injection
	// tests kill the process there). Production leaves it nil.
	Failpoint func(name string)
}

// HoldGrace is how long after the hold a part still in flight may finish
// before it is cut.
const HoldGrace = 500 * time.Millisecond

// DefaultLockWait is how long Run waits for a lock held by someone else
// before it reports ErrLocked.
const DefaultLockWait = 2 * time.Second

// Runner finalizes recordings.
type Runner struct {
	cfg     Config
	up      Uploader
	mw      ManifestWriter
	log     zerolog.Logger
	metrics metrics.Sink
}

// New returns a Runner.
func New(cfg Config, up Uploader, mw ManifestWriter, log zerolog.Logger, sink metrics.Sink) *Runner {
	if cfg.Backoff.Attempts < 1 {
		cfg.Backoff.Attempts = 1
	}
	if cfg.Source == "" {
		cfg.Source = "finalize"
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = DefaultLockWait
	}
	if sink == nil {
		sink = metrics.Discard{}
	}
	return &Runner{cfg: cfg, up: up, mw: mw, log: log, metrics: sink}
}

// FileResult is one uploaded file.
type FileResult struct {
	Name      string
	Key       string
	Size      int64
	VersionID string
	Checksum  string
	Parts     int
	PartsSent int  // parts this run sent (fewer than Parts after a resume)
	Reused    bool // stored by an earlier run, verified, not sent again
	Seconds   float64
	// Unplayable says why no player can open the file (package mp4), as
	// read before the upload; "" when it plays or is not a media file. It
	// was uploaded and verified all the same.
	Unplayable string
}

// Result is what a successful run did.
type Result struct {
	Dir         string
	Session     string
	Bucket      string
	Files       []FileResult
	ManifestKey string
	Bytes       int64
	Duration    time.Duration
	Attempts    int
	Deleted     bool     // local files deleted
	DirRemoved  bool     // the directory is gone
	Leftovers   []string // entries kept on disk on purpose
	Kept        bool     // --keep: nothing deleted
	HandedOff   bool     // not committed yet: left to the watcher within the hold
	PartsStored int      // with HandedOff: parts stored so far, of PartsTotal
	PartsTotal  int
	EventID     string // the event queued for the webhooks by this run ("" for none)
}

// Unplayable returns the number of files of the result no player can open.
func (r *Result) Unplayable() int {
	n := 0
	for _, f := range r.Files {
		if f.Unplayable != "" {
			n++
		}
	}
	return n
}

// Run finalizes the recording in dir.
func (r *Runner) Run(ctx context.Context, dir string) (*Result, error) {
	runStart := time.Now()
	started := runStart
	log := r.log.With().Str(logging.KeyDir, dir).Logger()
	l, err := lock.AcquireWait(ctx, dir, r.cfg.LockWait)
	switch {
	case errors.Is(err, lock.ErrLocked):
		return nil, fmt.Errorf("%w: %v", ErrLocked, err)
	case errors.Is(err, lock.ErrGone):
		return nil, fmt.Errorf("%w: %s does not exist (already finalized?)", ErrUsage, dir)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	defer l.Release()

	if empty, err := onlyOurs(dir); err == nil && empty {
		// What a cleanup killed before its last unlink leaves: nothing to
		// upload and nothing to lose.
		if err := recdir.RemoveOurs(dir); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCleanup, err)
		}
		if err := os.Remove(dir); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCleanup, err)
		}
		log.Info().Msg("empty directory removed")
		return &Result{Dir: dir, Session: filepath.Base(dir), DirRemoved: true}, nil
	}
	store, serr := recdir.Open(dir)
	if serr != nil {
		log.Warn().Err(serr).Msg("ignoring unreadable record; uploads start over (nothing is lost)")
	}
	store.Failpoint = r.cfg.Failpoint
	defer func() {
		if err := store.Flush(); err != nil {
			log.Error().Err(err).Msg("cannot write the record: a retry will start over instead of resuming (nothing is lost)")
		}
	}()
	prev := store.Record()
	rec, err := recording.Scan(dir, recording.Options{Force: r.cfg.Force, Known: store.Existed()})
	if errors.Is(err, recording.ErrNoMedia) && prev.IsCommitted() {
		return r.finishCleanup(log, store, rec, prev)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	log = log.With().Str(logging.KeySession, rec.Session).Logger()
	r.report(log, rec)

	attempts := prev.Attempts + 1
	keys, manifestKey, err := r.pin(store, rec, attempts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Deadline)
	defer cancel()
	var handOffAt time.Time
	if r.cfg.Hold > 0 {
		handOffAt = runStart.Add(r.cfg.Hold)
	}
	c, err := r.commit(ctx, log, rec, store, keys, manifestKey, attempts, started, handOffAt)
	if errors.Is(err, upload.ErrHandOff) {
		return r.handOff(log, store, rec, manifestKey, attempts, runStart), nil
	}
	if err != nil {
		r.fail(log, store, rec, attempts, started, err)
		return nil, err
	}
	res := &c.Result
	success := metrics.Record{Outcome: metrics.OutcomeSuccess, Bytes: res.Bytes, Seconds: time.Since(started).Seconds(), Attempts: attempts, Files: len(res.Files),
		Unplayable: res.Unplayable(), Source: r.cfg.Source, Session: rec.Session}
	emitSuccess := func() {
		if r.cfg.Hook {
			success.HookSeconds = time.Since(runStart).Seconds()
		}
		r.emit(log, success)
	}
	if r.cfg.Keep {
		res.Kept = true
		emitSuccess()
		return res, nil
	}
	if err := store.Flush(); err != nil {
		log.Warn().Err(err).Msg("cannot write the record before cleanup")
	}
	rep, err := cleanup.Remove(dir, c.verified, cleanup.Options{AfterDelete: func(string) { r.failpoint("during-cleanup") }})
	res.Deleted, res.DirRemoved, res.Leftovers = len(rep.Deleted) > 0, rep.DirRemoved, rep.Leftovers
	if err == nil && len(rep.Leftovers) > 0 && len(rep.Pending) == 0 {
		err = r.recordLeftovers(store, rep.Leftovers)
	}
	if err != nil {
		log.Error().Err(err).Str(logging.KeyManifest, res.ManifestKey).Msg("recording is committed in S3 but local cleanup failed; files kept")
		success.CleanupFailed = true
		emitSuccess()
		return res, fmt.Errorf("%w: %v", ErrCleanup, err)
	}
	emitSuccess()
	if len(rep.Pending) > 0 {
		log.Warn().Strs("files", rep.Pending).Msg("new files appeared during the upload; left for the next run")
	}
	return res, nil
}

// pin fixes the layout and the object keys of the recording in its record
// before anything is uploaded, and counts the attempt.
func (r *Runner) pin(store *recdir.Store, rec *recording.Recording, attempts int) ([]string, string, error) {
	prev := store.Record()
	if l := prev.Layout; l != nil {
		rec.Start, rec.Room, rec.Tenant = l.Start, l.Room, l.Tenant
	}
	keys, manifestKey, err := objectKeys(r.cfg.Template, r.cfg.Prefix, rec, prev.Files)
	if err != nil {
		return nil, "", err
	}
	werr := store.Commit(func(rc *recdir.Record) {
		if rc.Layout == nil {
			rc.Layout = &recdir.Layout{Start: rec.Start, Room: rec.Room, Tenant: rec.Tenant}
		}
		for i, m := range rec.Media {
			if _, ok := rc.Files[m.Name]; !ok {
				rc.Files[m.Name] = &recdir.File{Key: keys[i]}
			}
		}
		rc.Attempts = attempts
		rc.HandedOff = false // this run takes it over
	})
	if werr != nil {
		r.log.Warn().Err(werr).Str(logging.KeyDir, rec.Dir).Msg("cannot write the record: keys are not pinned for a retry (the upload goes on)")
	}
	return keys, manifestKey, nil
}

// handOff records that the hook stops within its hold and leaves the rest
// of the upload to the watcher: the parts stored so far stay (their
// multipart uploads are not aborted) and the record says handed off, so the
// watcher continues at once.
func (r *Runner) handOff(log zerolog.Logger, store *recdir.Store, rec *recording.Recording, manifestKey string, attempts int, runStart time.Time) *Result {
	if err := store.Commit(func(rc *recdir.Record) {
		rc.HandedOff, rc.HandedOffAt = true, time.Now().UTC()
	}); err != nil {
		// The watcher still finds it (a recording with an unfinished
		// record, not locked): later, after its settle window.
		log.Warn().Err(err).Msg("cannot record the hand-off")
	}
	res := &Result{Dir: rec.Dir, Session: rec.Session, Bucket: r.cfg.Bucket, ManifestKey: manifestKey, Attempts: attempts, HandedOff: true,
		Duration: time.Since(runStart)}
	res.PartsStored, res.PartsTotal = store.Record().Progress()
	log.Info().Dur("hold", r.cfg.Hold).Int("parts_stored", res.PartsStored).Int("parts_total", res.PartsTotal).
		Msg("handed off to the watcher: not committed yet, the watcher continues the upload")
	m := metrics.Record{Outcome: metrics.OutcomeHandedOff, HandedOff: true, Seconds: res.Duration.Seconds(), Attempts: attempts, Files: len(rec.Media), Source: r.cfg.Source, Session: rec.Session}
	if r.cfg.Hook {
		m.HookSeconds = res.Duration.Seconds()
	}
	r.emit(log, m)
	return res
}

// finishCleanup completes the cleanup of a recording an earlier run
// committed and that holds no media any more.
func (r *Runner) finishCleanup(log zerolog.Logger, store *recdir.Store, rec *recording.Recording, prev *recdir.Record) (*Result, error) {
	res := &Result{Dir: rec.Dir, Session: rec.Session, Bucket: r.cfg.Bucket, ManifestKey: prev.Manifest, Kept: prev.Kept}
	if err := store.Flush(); err != nil {
		log.Warn().Err(err).Msg("cannot write the record")
	}
	rep, err := cleanup.Remove(rec.Dir, nil, cleanup.Options{})
	res.DirRemoved, res.Leftovers = rep.DirRemoved, rep.Leftovers
	if err == nil && len(rep.Leftovers) > 0 && len(rep.Pending) == 0 {
		err = r.recordLeftovers(store, rep.Leftovers)
	}
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrCleanup, err)
	}
	log.Info().Str(logging.KeyManifest, prev.Manifest).Bool("dir_removed", rep.DirRemoved).Msg("recording was already committed; cleanup finished")
	return res, nil
}

func (r *Runner) recordLeftovers(store *recdir.Store, leftovers []string) error {
	return store.Commit(func(rc *recdir.Record) { rc.Leftovers = leftovers })
}

// onlyOurs reports whether dir holds nothing but files this program wrote:
// no media, no metadata.json, nothing of anyone else. Whatever the record
// says then, removing the directory loses nothing.
func onlyOurs(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if !recdir.IsOurs(e.Name()) {
			return false, nil
		}
	}
	return true, nil
}

// committed carries the verified files to cleanup.
type committed struct {
	Result
	verified []upload.Verified
}

func (r *Runner) report(log zerolog.Logger, rec *recording.Recording) {
	for _, ref := range rec.Refused {
		log.Warn().Str("entry", ref.Name).Str("reason", ref.Reason).Msg("refused entry left untouched")
	}
	for _, name := range rec.Empty {
		log.Warn().Str(logging.KeyFile, name).Msg("empty file kept on disk, not uploaded")
	}
	switch rec.MetadataStatus {
	case recording.MetadataCorrupt:
		log.Warn().Str("error", rec.MetadataError).Msg("metadata.json is corrupt; uploading under the fallback layout")
	case recording.MetadataMissing:
		log.Warn().Msg("no metadata.json; uploading under the fallback layout")
	}
}

// failpoint calls the configured fault-injection hook, if any.
func (r *Runner) failpoint(name string) {
	if r.cfg.Failpoint != nil {
		r.cfg.Failpoint(name)
	}
}

// commit uploads every file with retries, then writes the manifest and
// records the commit.
func (r *Runner) commit(ctx context.Context, log zerolog.Logger, rec *recording.Recording, store *recdir.Store, keys []string, manifestKey string, attempts int, started time.Time, handOffAt time.Time) (*committed, error) {
	meta := r.objectMetadata(rec)
	verified := make([]upload.Verified, len(rec.Media))
	done := make([]bool, len(rec.Media))
	media, err := r.inspectAll(log, store, rec)
	if err != nil {
		// Like a local read error of the upload: retrying within this run
		// does not help; the next run does.
		return nil, r.classify(ctx, err)
	}
	// The hold is kept by not starting parts that would end after it; a
	// part still in flight HoldGrace after it (a link slower than the hold
	// is long) is cut and sent again by the watcher.
	uctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	if !handOffAt.IsZero() {
		t := time.AfterFunc(time.Until(handOffAt)+HoldGrace, func() { cut(upload.ErrHandOff) })
		defer t.Stop()
	}
	err = r.cfg.Backoff.retry(uctx, func(try int, d time.Duration) {
		log.Info().Int("try", try).Dur("backoff", d).Msg("retrying")
	}, func() (bool, error) {
		var lastErr error
		for i, m := range rec.Media {
			if done[i] {
				continue
			}
			flog := log.With().Str(logging.KeyFile, m.Name).Str(logging.KeyKey, keys[i]).Int64("bytes", m.Size).Logger()
			flog.Info().Msg("uploading")
			v, err := r.up.Upload(uctx, m, upload.Object{Key: keys[i], ContentType: upload.ContentType(m.Name), Metadata: upload.FitMetadata(mediaMetadata(meta, media[i])),
				Progress: store, HandOffAt: handOffAt})
			if errors.Is(err, upload.ErrHandOff) || (err != nil && errors.Is(context.Cause(uctx), upload.ErrHandOff)) {
				return true, upload.ErrHandOff
			}
			if err != nil {
				flog.Warn().Err(err).Msg("upload failed")
				lastErr = err
				if upload.IsPermanent(err) || errors.Is(err, upload.ErrChanged) || ctx.Err() != nil {
					return true, err
				}
				continue
			}
			msg := "uploaded and verified"
			switch {
			case v.Reused():
				msg = "already stored by an earlier run; verified against the local bytes"
			case v.SentParts() < v.Parts():
				msg = "resumed, uploaded and verified"
			}
			if v.Rearranged() != "" {
				flog = flog.With().Str("layout", v.Rearranged()).Int64("object_bytes", v.Size()).Logger()
			} else if why := v.KeptLayout(); why != "" {
				flog.Info().Str("reason", why).Msg("stored in its own layout, not rearranged for faststart")
			}
			if why := v.Encryption().Mismatch; why != "" {
				flog.Warn().Str("sse_mismatch", why).Msg("the store did not apply the requested encryption; accepted (--sse-mismatch warn) and recorded in the manifest")
			}
			flog.Info().Str("version", v.VersionID()).Str("checksum", v.Checksum()).Str("verify", v.Verification()).Int("parts", v.Parts()).
				Int("parts_sent", v.SentParts()).Float64("seconds", v.Duration().Seconds()).Msg(msg)
			verified[i], done[i] = v, true
		}
		return false, lastErr
	})
	if errors.Is(err, upload.ErrHandOff) || (err != nil && errors.Is(context.Cause(uctx), upload.ErrHandOff) && ctx.Err() == nil) {
		return nil, upload.ErrHandOff
	}
	if err != nil || ctx.Err() != nil {
		return nil, r.classify(ctx, err)
	}

	r.failpoint("after-verify")
	m := r.buildManifest(rec, verified, media, attempts, started)
	allReused := true
	for _, v := range verified {
		allReused = allReused && v.Reused()
	}
	prev := store.Record()
	var eventID string
	switch {
	case prev.Manifest == manifestKey && allReused:
		// An earlier run committed this manifest and then died during
		// cleanup: every remaining file is in it, nothing to rewrite.
		log.Info().Str(logging.KeyManifest, manifestKey).Msg("recording was already committed; finishing cleanup")
	default:
		if prev.Manifest == manifestKey {
			// Files an earlier run committed and deleted are listed only
			// there: a manifest without them would lose track of them, so
			// failing to read it is a retryable failure, not a shorter list.
			if err := r.mergeEarlier(ctx, manifestKey, m); err != nil {
				return nil, r.classify(ctx, err)
			}
		}
		mv, err := r.writeManifest(ctx, manifestKey, m)
		if err != nil {
			return nil, r.classify(ctx, err)
		}
		log.Info().Str(logging.KeyManifest, manifestKey).Msg("manifest written; recording committed")
		r.failpoint("after-manifest")
		if eventID, err = r.enqueue(rec, m, manifestKey, mv); err != nil {
			return nil, r.classify(ctx, err)
		}
		r.failpoint("after-enqueue")
	}
	if err := store.Commit(func(rc *recdir.Record) {
		rc.Manifest, rc.Committed, rc.Kept = manifestKey, time.Now().UTC(), r.cfg.Keep
		rc.Outcome, rc.LastError, rc.Hint = "", "", ""
	}); err != nil {
		log.Warn().Err(err).Msg("cannot record the committed manifest")
	}
	st := store.Stats()
	log.Debug().Int("record_writes", st.Writes).Int64("record_bytes", st.Bytes).Int("record_fsyncs", st.Fsyncs).Msg("record cost of this run")
	res := &committed{verified: verified}
	res.Result = Result{Dir: rec.Dir, Session: rec.Session, Bucket: r.cfg.Bucket, ManifestKey: manifestKey, Attempts: attempts, Duration: time.Since(started), EventID: eventID}
	for i, v := range verified {
		fr := FileResult{Name: v.Media().Name, Key: v.Key(), Size: v.Size(), VersionID: v.VersionID(), Checksum: v.Checksum(),
			Parts: v.Parts(), PartsSent: v.SentParts(), Reused: v.Reused(), Seconds: v.Duration().Seconds()}
		fr.Unplayable = unplayable(media[i])
		res.Files = append(res.Files, fr)
		res.Bytes += v.Size()
	}
	return res, nil
}

// classify wraps err with the sentinel that decides the exit code.
func (r *Runner) classify(ctx context.Context, err error) error {
	if err == nil {
		err = ctx.Err()
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %w: the %s deadline ran out: %v", ErrUpload, context.DeadlineExceeded, r.cfg.Deadline, err)
	case errors.Is(err, upload.ErrMismatch):
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if hint := upload.Hint(err); hint != "" {
		return fmt.Errorf("%w: %w (%s)", ErrUpload, err, hint)
	}
	return fmt.Errorf("%w: %w", ErrUpload, err)
}

// Reason classifies a Run error for metrics: deadline, verify, changed,
// permanent, cleanup, locked, usage or upload.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrCleanup):
		return "cleanup"
	case errors.Is(err, ErrLocked):
		return "locked"
	case errors.Is(err, ErrUsage):
		return "usage"
	}
	_, why := reason(err)
	return why
}

func reason(err error) (recdir.Outcome, string) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return recdir.OutcomeDeadline, "deadline"
	case errors.Is(err, ErrVerify):
		return recdir.OutcomeMismatch, "verify"
	case errors.Is(err, upload.ErrChanged):
		return recdir.OutcomeFailed, "changed"
	case errors.Is(err, context.Canceled):
		// Stopped (SIGTERM, drain): nothing wrong with the recording.
		return recdir.OutcomeFailed, "upload"
	case upload.IsPermanent(err):
		return recdir.OutcomePermanent, "permanent"
	}
	return recdir.OutcomeFailed, "upload"
}

// fail records a failed attempt in the record and in metrics.
func (r *Runner) fail(log zerolog.Logger, store *recdir.Store, rec *recording.Recording, attempts int, started time.Time, err error) {
	outcome, why := reason(err)
	log.Error().Err(err).Str("reason", why).Int("attempts", attempts).Msg("finalize failed; recording kept on disk")
	if werr := store.Commit(func(rc *recdir.Record) {
		rc.Attempts, rc.Outcome, rc.LastError, rc.Hint = attempts, outcome, err.Error(), upload.Hint(err)
	}); werr != nil {
		log.Error().Err(werr).Msg("cannot record the failure")
	}
	r.emit(log, metrics.Record{Outcome: metrics.OutcomeFailure, Reason: why, Seconds: time.Since(started).Seconds(), Attempts: attempts, Files: len(rec.Media), Source: r.cfg.Source, Session: rec.Session})
}

func (r *Runner) emit(log zerolog.Logger, m metrics.Record) {
	doc, err := m.EMF(r.cfg.Namespace, r.cfg.Environment, time.Now())
	if err == nil {
		err = r.metrics.Emit(doc)
	}
	if err != nil {
		log.Warn().Err(err).Msg("cannot record metrics")
	}
}

// objectMetadata is the raw user metadata every object of the recording
// shares (each media file adds its own, mediaMetadata): upload.FitMetadata
// encodes and bounds it so that S3's 2 KB limit always holds, whatever the
// room or tenant.
func (r *Runner) objectMetadata(rec *recording.Recording) map[string]string {
	meta := map[string]string{
		"room":             rec.Room,
		"session-id":       rec.Session,
		"recording-start":  rec.Start.UTC().Format(time.RFC3339),
		"metadata-status":  string(rec.MetadataStatus),
		"uploader-version": version.Version,
	}
	if rec.Tenant != "" {
		meta["tenant"] = rec.Tenant
	}
	if md := rec.Metadata; md != nil {
		if md.MeetingURL != "" {
			meta["meeting-url"] = md.MeetingURL
		}
		meta["participants"] = strconv.Itoa(md.Participants)
		if md.SessionID != "" {
			meta["conference-session-id"] = md.SessionID
		}
	}
	return meta
}

func (r *Runner) buildManifest(rec *recording.Recording, verified []upload.Verified, media []*mp4.Info, attempts int, started time.Time) *manifest.Manifest {
	host, _ := os.Hostname()
	m := &manifest.Manifest{
		Recording: manifest.Recording{
			SessionID: rec.Session, Room: rec.Room, Tenant: rec.Tenant, StartedAt: rec.Start.UTC(),
			MetadataStatus: string(rec.MetadataStatus), MetadataError: rec.MetadataError,
		},
		Bucket:      r.cfg.Bucket,
		Uploader:    manifest.Uploader{Name: r.cfg.Source, Version: version.Version, Host: host},
		Attempts:    attempts,
		StartedAt:   started.UTC(),
		CompletedAt: time.Now().UTC(),
	}
	if md := rec.Metadata; md != nil {
		m.Recording.MeetingURL, m.Recording.Participants = md.MeetingURL, md.Participants
		m.Metadata = md.Public()
	}
	for i, v := range verified {
		m.Files = append(m.Files, manifest.File{
			Name: v.Media().Name, Key: v.Key(), Size: v.Size(), ContentType: upload.ContentType(v.Media().Name),
			ChecksumAlgorithm: string(r.up.Algorithm()), Checksum: v.Checksum(), ChecksumType: string(types.ChecksumTypeFullObject), Verification: v.Verification(),
			ETag: v.ETag(), VersionID: v.VersionID(), Parts: v.Parts(), PartsSent: v.SentParts(),
			UploadStarted: v.Started().UTC(), UploadSeconds: v.Duration().Seconds(),
			Encryption: &manifest.Encryption{Algorithm: v.Encryption().Algorithm, KMSKeyID: v.Encryption().KMSKeyID, Mismatch: v.Encryption().Mismatch},
			Media:      mediaBlock(media[i], v.Rearranged()),
		})
	}
	for _, name := range rec.Empty {
		m.Skipped = append(m.Skipped, manifest.Skipped{Name: name, Reason: "empty file, kept on disk"})
	}
	for _, ref := range rec.Refused {
		m.Skipped = append(m.Skipped, manifest.Skipped{Name: ref.Name, Reason: ref.Reason})
	}
	return m
}

// writeManifest stores the manifest with a CRC32C that S3 checks on receipt,
// retrying transient errors within the run's deadline.
// It returns the version S3 gave the manifest ("" without versioning).
func (r *Runner) writeManifest(ctx context.Context, key string, m *manifest.Manifest) (string, error) {
	body, err := manifest.Encode(m)
	if err != nil {
		return "", err
	}
	in := &s3.PutObjectInput{
		Bucket:         aws.String(r.cfg.Bucket),
		Key:            aws.String(key),
		ContentType:    aws.String("application/json"),
		ChecksumCRC32C: aws.String(checksum.CRC32C.Sum(body)),
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = upload.SSEHeaders(r.cfg.SSE, r.cfg.KMSKeyID)
	var version string
	lastErr := r.cfg.Backoff.retry(ctx, nil, func() (bool, error) {
		in.Body = bytes.NewReader(body)
		out, err := r.mw.PutObject(ctx, in)
		if err == nil {
			version = aws.ToString(out.VersionId)
		}
		return upload.IsPermanent(err) || ctx.Err() != nil, err
	})
	if lastErr == nil {
		return version, nil
	}
	return "", fmt.Errorf("manifest: cannot write %s: %w", key, lastErr)
}

// enqueue queues the event of the recording just committed, when events
// are configured, and returns its id.
func (r *Runner) enqueue(rec *recording.Recording, m *manifest.Manifest, key, version string) (string, error) {
	if r.cfg.Events == nil {
		return "", nil
	}
	var ended time.Time
	for _, md := range rec.Media {
		if md.ModTime.After(ended) {
			ended = md.ModTime
		}
	}
	now := time.Now()
	ev, err := event.Build(m, event.Commit{ManifestKey: key, ManifestVersion: version, EndedAt: ended}, now)
	if err == nil {
		err = r.cfg.Events.Enqueue(filepath.Dir(rec.Dir), ev, now)
	}
	if err != nil {
		return "", fmt.Errorf("event: cannot queue the event of the committed recording (kept on disk, retried): %w", err)
	}
	r.log.Info().Str(logging.KeyDir, rec.Dir).Str("event_id", ev.ID).Msg("event queued for the webhooks")
	return ev.ID, nil
}

// mergeEarlier adds to m the files of the manifest an earlier run committed
// under the same key (files it uploaded and deleted before dying), so the
// new manifest still lists the whole recording.
func (r *Runner) mergeEarlier(ctx context.Context, key string, m *manifest.Manifest) error {
	out, err := r.mw.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("manifest: cannot read the earlier manifest %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, manifest.MaxSize+1))
	if err != nil {
		return fmt.Errorf("manifest: cannot read the earlier manifest %s: %w", key, err)
	}
	prev, err := manifest.Decode(b)
	if err != nil {
		return fmt.Errorf("manifest: the earlier manifest %s is invalid: %w", key, err)
	}
	have := map[string]bool{}
	for _, f := range m.Files {
		have[f.Name] = true
	}
	for _, f := range prev.Files {
		if !have[f.Name] {
			m.Files = append(m.Files, f)
		}
	}
	return nil
}
