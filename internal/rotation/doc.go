// Package rotation is the AWS Secrets Manager rotation function for the one
// JSON secret that holds every XMPP password of the Jitsi stack (one key per
// environment variable, see infra/terraform/secrets.tf).
//
// Secrets Manager calls the function four times per rotation, with the same
// ClientRequestToken (the new version's id) and one Step each, in order:
//
//   - createSecret: unless the token's version already exists as AWSPENDING,
//     generate a new value for every key of the current secret (and every key
//     of SECRET_KEYS) with GetRandomPassword (32 letters and digits: no
//     punctuation, so the values fit Prosody and XMPP URIs unescaped) and store
//     them with PutSecretValue as the AWSPENDING version of the token.
//   - setSecret: nothing. There is no external system to update: Prosody
//     re-registers its accounts (jicofo, jvb, jibri, recorder, jigasi) from its
//     environment at every start, and every component reads its password from
//     its environment at start, which ECS fills from the AWSCURRENT version.
//     The new passwords take effect in finishSecret, when the services restart.
//   - testSecret: the pending JSON holds every expected key with a non-empty
//     value, and every rotated value differs from the current one.
//   - finishSecret: move AWSCURRENT to the token's version, then force a new
//     deployment of each ECS service of ECS_SERVICES in order (core with
//     prosody first, then jvb, then jibri), waiting for each to be stable
//     before the next, within the invocation's deadline.
//
// Every step first checks, as the AWS rotation template does, that rotation
// is enabled on the secret and that the token is a staged version of it; a
// step whose token is already AWSCURRENT has nothing left to do, except
// finishSecret, which then resumes the service roll-out (skipping services
// already deployed since the new version was created). Every step may be
// retried with the same token.
//
// Values are typed [secrets.Value], which prints and encodes as redacted: a
// value never reaches a log line or an error; only key names do.
package rotation
