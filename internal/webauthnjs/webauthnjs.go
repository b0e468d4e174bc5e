// Package webauthnjs serves the browser helper script that self-service UIs
// include for security-key steps (GET /.well-known/ory/webauthn.js), and
// its subresource-integrity hash for script nodes.
package webauthnjs

import (
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"net/http"
)

//go:embed webauthn.js
var script []byte

// Integrity is the script's subresource-integrity value.
func Integrity() string {
	sum := sha512.Sum512(script)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Handler serves the script.
func Handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=UTF-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(script)
}
