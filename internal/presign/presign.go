package presign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
)

// MaxExpiry is the longest a SigV4 presigned URL may live.
const MaxExpiry = 7 * 24 * time.Hour

// minUseful: a link that would die sooner is not worth sending.
const minUseful = time.Minute

// ErrShortLived reports credentials too close to their expiry to sign a
// link anyone could use.
var ErrShortLived = errors.New("presign: the credentials expire too soon for a usable link")

// Presigner signs links with the credentials of its provider.
type Presigner struct {
	client *s3.Client
	creds  aws.CredentialsProvider
	now    func() time.Time
}

// New returns a presigner for client's objects, signing with the
// credentials creds returns (the client's own: client.Options().Credentials).
func New(client *s3.Client, creds aws.CredentialsProvider) *Presigner {
	return &Presigner{client: client, creds: creds, now: time.Now}
}

// Link is a presigned GET of one object version.
func (p *Presigner) Link(ctx context.Context, bucket, key, versionID string, asked time.Duration) (event.Link, error) {
	if p.creds == nil {
		return event.Link{}, errors.New("presign: no credentials")
	}
	c, err := p.creds.Retrieve(ctx)
	if err != nil {
		return event.Link{}, fmt.Errorf("presign: cannot retrieve credentials: %w", err)
	}
	now := p.now()
	ttl := Expiry(asked, c, now)
	if ttl < minUseful {
		return event.Link{}, fmt.Errorf("%w (%s left)", ErrShortLived, ttl.Round(time.Second))
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	// Sign with exactly the credentials whose expiry was read, not whatever
	// the client's cache holds a moment later.
	static := credentials.StaticCredentialsProvider{Value: c}
	req, err := s3.NewPresignClient(p.client, func(o *s3.PresignOptions) {
		o.Expires = ttl
		o.ClientOptions = append(o.ClientOptions, func(so *s3.Options) { so.Credentials = static })
	}).PresignGetObject(ctx, in)
	if err != nil {
		return event.Link{}, fmt.Errorf("presign: cannot sign %s: %w", key, err)
	}
	return event.Link{URL: req.URL, ExpiresAt: now.Add(ttl).UTC().Truncate(time.Second)}, nil
}

// Expiry is min(asked, the credentials' remaining life, MaxExpiry),
// truncated to whole seconds (X-Amz-Expires counts seconds).
func Expiry(asked time.Duration, c aws.Credentials, now time.Time) time.Duration {
	d := min(asked, MaxExpiry)
	if c.CanExpire {
		d = min(d, c.Expires.Sub(now))
	}
	return max(d.Truncate(time.Second), 0)
}

// Linker adds links to every object of an event (outbox.Linker).
type Linker struct {
	P      *Presigner
	Expiry time.Duration
}

// AddLinks sets each object's Link; on an error the event is left
// without any.
func (l Linker) AddLinks(ctx context.Context, e *event.Event) error {
	links := make([]event.Link, len(e.Objects))
	for i, o := range e.Objects {
		lk, err := l.P.Link(ctx, e.Bucket, o.Key, o.VersionID, l.Expiry)
		if err != nil {
			return err
		}
		links[i] = lk
	}
	for i := range e.Objects {
		e.Objects[i].Link = &links[i]
	}
	return nil
}
