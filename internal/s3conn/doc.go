// Package s3conn builds the S3 client both programs use: the SDK's default
// credential chain, a standard retryer without the client-side token bucket
// (it runs dry during long outages and turns them into instant failures), an
// HTTP/1.1 transport sized for parallel part uploads, and optional custom
// endpoint, path-style addressing and CA bundle for S3-compatible stores.
//
// Every connection carries a stall timeout (Options.IOTimeout), not a
// request timeout: a slow link that keeps moving in either direction is
// never cut, and one on which nothing moves for the timeout fails its
// request with a *StallError (errors.Is(err, ErrStalled)), which the SDK
// retryer repeats on a new connection.
package s3conn
