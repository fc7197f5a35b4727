// Package presign makes presigned GET URLs of committed objects whose
// stated expiry is one they can keep: a URL signed with temporary
// credentials (an ECS task role, an assumed role) stops working when those
// credentials expire, whatever X-Amz-Expires says, so the expiry is the
// shorter of the one asked for and the credentials' own, and SigV4's 7-day
// maximum.
package presign
