// Package mediatest makes MP4 recordings for tests the way Jibri's ffmpeg
// makes them (jibri reference.conf, ffmpeg section: libx264 main profile,
// level 3.1, preset ultrafast, CRF 25, yuv420p, 30 fps; AAC 44.1 kHz
// 128 kb/s; -f mp4), with lavfi testsrc and sine in place of x11grab and
// the ALSA/pulse capture.
//
// Variants: Plain (the moov written last, when ffmpeg exits normally),
// Killed (ffmpeg SIGKILLed mid-recording: an mdat and no moov), and
// Fragmented (-movflags +frag_keyframe+empty_moov+default_base_moof, the
// crash-resilient profile of docker/jibri). Any length is made on the fly;
// long files go to a cache directory ($JIBRI_S3_MEDIA_CACHE) so that a
// second run reuses them.
//
// ffmpeg is found through $FFMPEG_BIN, then $PATH. When it is missing the
// test is skipped, unless JIBRI_S3_REQUIRE_FFMPEG=1 (set by `make test`
// and CI), where it fails.
package mediatest
