// Package keytmpl turns a recording into S3 object keys from a template such
// as "{prefix}/{yyyy}/{mm}/{dd}/{room}/{session}/{file}".
//
// Every value is sanitized into safe key segments: no "." or ".." segments,
// no control or bidirectional-override characters, no separators smuggled in
// a room name, bounded length (with a hash suffix so truncated names stay
// distinct), and readable Unicode kept as it is. A template must contain
// {session} and {file}, so two recordings can never share a key.
package keytmpl
