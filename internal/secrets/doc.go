// Package secrets fetches the Jitsi passwords from one AWS Secrets Manager
// secret (a JSON object, one key per environment variable) and writes them
// where s6-overlay's with-contenv reads the container environment, for
// containers started outside ECS (on ECS the task definition injects the same
// keys with `secrets`/`valueFrom`).
//
// Values are typed [Value], which prints as redacted: a value never reaches a
// log line, an error or stdout; only key names do.
package secrets
