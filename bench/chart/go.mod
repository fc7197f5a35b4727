module github.com/jitsi-recorder/jibri-s3/bench/chart

go 1.26.8

require golang.org/x/image v0.48.0
