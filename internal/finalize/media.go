package finalize

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// Object metadata keys of a media file (package upload bounds their size).
const (
	metaDuration = "media-duration" // seconds, to the millisecond
	metaPlayable = "media-playable" // "true" or "false"
)

// inspectMedia reads the structure of a media file before its upload
// (package mp4: box headers and the index, never the media payload). It
// returns nil for files that are not ISO media files. A file that no player
// can open is not an error: its Info says why. An error means the file
// could not be read; the upload of that file then fails and is retried.
func inspectMedia(m recording.Media) (*mp4.Info, error) {
	if !mp4.Inspectable(m.Name) {
		return nil, nil
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return nil, fmt.Errorf("media: cannot open %s: %w", m.Name, err)
	}
	defer f.Close()
	info, err := mp4.Inspect(f, m.Size)
	if err != nil {
		return nil, fmt.Errorf("media: cannot read the structure of %s: %w", m.Name, err)
	}
	return info, nil
}

// mediaMetadata adds the media keys of info to the raw object metadata
// base (a copy; base is not changed).
func mediaMetadata(base map[string]string, info *mp4.Info) map[string]string {
	raw := make(map[string]string, len(base)+2)
	for k, v := range base {
		raw[k] = v
	}
	if info != nil {
		raw[metaDuration] = strconv.FormatFloat(seconds(info.Duration), 'f', 3, 64)
		raw[metaPlayable] = strconv.FormatBool(info.Playable)
	}
	return raw
}

// mediaBlock is the manifest's media block of a file as Inspect read it.
// rearranged names the layout the object was stored in when it is not the
// file's own (the faststart rewrite during the upload): the object is then
// faststart although the file was not.
func mediaBlock(info *mp4.Info, rearranged string) *manifest.Media {
	if info == nil {
		return nil
	}
	md := &manifest.Media{
		Container: info.Container, DurationSeconds: seconds(info.Duration),
		Moov: info.HasMoov, Fragmented: info.Fragmented, Faststart: info.Faststart || rearranged != "",
		Playable: info.Playable, Reason: unplayable(info), Notes: append([]string(nil), info.Notes...),
	}
	if rearranged != "" && !info.Faststart {
		md.Notes = append(md.Notes, fmt.Sprintf("stored rearranged for faststart (%s): the index was moved before the media while uploading; the local file had it at the end", rearranged))
	}
	for _, t := range info.Tracks {
		codec := t.CodecString
		if codec == "" {
			codec = t.Codec
		}
		md.Tracks = append(md.Tracks, manifest.MediaTrack{
			Kind: trackKind(t.Handler), Codec: codec, Profile: t.Profile,
			Width: t.Width, Height: t.Height, SampleRate: t.SampleRate, Channels: t.Channels,
			DurationSeconds: seconds(t.Duration),
		})
	}
	return md
}

func trackKind(handler string) string {
	switch handler {
	case "vide":
		return "video"
	case "soun":
		return "audio"
	}
	return handler
}

// unplayable says why no player can open the file info describes, or ""
// when it plays or is not a media file.
func unplayable(info *mp4.Info) string {
	switch {
	case info == nil || info.Playable:
		return ""
	case info.Reason == "":
		return "not playable" // the manifest refuses an unplayable file without a reason
	}
	return info.Reason
}

// seconds rounds d to the microsecond, as ffprobe reports durations.
func seconds(d time.Duration) float64 {
	return d.Round(time.Microsecond).Seconds()
}

// inspectAll inspects every media file of the recording before the upload
// (nil for files that are not media), logs those no player can open, and
// records why in the recording's record, so that `recwatch status` shows
// it while the recording is on disk. They are uploaded all the same.
func (r *Runner) inspectAll(log zerolog.Logger, store *recdir.Store, rec *recording.Recording) ([]*mp4.Info, error) {
	media := make([]*mp4.Info, len(rec.Media))
	for i, m := range rec.Media {
		info, err := inspectMedia(m)
		if err != nil {
			log.Warn().Err(err).Str(logging.KeyFile, m.Name).Msg("upload failed")
			return nil, err
		}
		media[i] = info
		flog := log.With().Str(logging.KeyFile, m.Name).Logger()
		if why := unplayable(info); why != "" {
			flog.Warn().Str("reason", why).Str("container", info.Container).Bool("moov", info.HasMoov).
				Msg("recording file is not playable; uploaded as it is, flagged in the manifest")
		}
		r.flagMedia(flog, store, m.Name, unplayable(info))
	}
	return media, nil
}

// flagMedia records in the record why the file name does not play ("" when
// it does), when that changed.
func (r *Runner) flagMedia(log zerolog.Logger, store *recdir.Store, name, why string) {
	if f := store.Record().Files[name]; f == nil || f.Unplayable == why {
		return
	}
	if err := store.Commit(func(rc *recdir.Record) {
		if f := rc.Files[name]; f != nil {
			f.Unplayable = why
		}
	}); err != nil {
		log.Warn().Err(err).Msg("cannot record that the file is not playable (the upload goes on)")
	}
}
