package webhook_test

// knownVector is, from openssl:
//
//	printf %s '1764000000.{"hello":"world"}' | openssl dgst -sha256 -hmac whsec_test -hex
const knownVector = "e93957e398508df943e7bdb91537296bc64865e33de35a04255ad5ac507bf8d1"
