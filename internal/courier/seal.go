package courier

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hoplite-id/hoplite/internal/cipher"
)

// A queued message whose template carries a single-use link (LinkTemplates)
// would hold a usable recovery or verification link in the database until
// it is sent, and longer while the mail server is down. With a sealing
// cipher set, the courier stores such a message's body and template data
// encrypted, and opens them only to send. (Once sent or abandoned, the store
// drops them altogether.)

// sealedPrefix marks a sealed body. Sealed template data is the JSON object
// {"hoplite_sealed": "<ciphertext>"}, so the column still holds JSON.
const (
	sealedPrefix  = "hoplite-sealed:v1:"
	sealedDataKey = "hoplite_sealed"
)

// SealLinks makes c store the body and template data of link messages
// encrypted with ci (see cipher.AtRest). It returns c.
func (c *Courier) SealLinks(ci cipher.Cipher) *Courier {
	c.sealer = ci
	return c
}

// seal encrypts m's body and template data in place when m carries a link
// and a sealing cipher is set.
func (c *Courier) seal(m *Message) error {
	if c.sealer == nil || !slices.Contains(LinkTemplates, m.TemplateType) {
		return nil
	}
	body, err := c.sealer.Encrypt([]byte(m.Body))
	if err != nil {
		return fmt.Errorf("courier: sealing the message body: %w", err)
	}
	data, err := c.sealer.Encrypt(m.TemplateData)
	if err != nil {
		return fmt.Errorf("courier: sealing the template data: %w", err)
	}
	wrapped, err := json.Marshal(map[string]string{sealedDataKey: data})
	if err != nil {
		return err
	}
	m.Body, m.TemplateData = sealedPrefix+body, wrapped
	return nil
}

// Open returns m with a sealed body and template data decrypted; other
// messages (and messages queued before sealing was set, or moved from
// Kratos) are returned as they are.
func (c *Courier) Open(m Message) (Message, error) {
	if rest, ok := strings.CutPrefix(m.Body, sealedPrefix); ok {
		if c.sealer == nil {
			return m, fmt.Errorf("courier: message %s is sealed, and no cipher is set to open it", m.ID)
		}
		body, err := c.sealer.Decrypt(rest)
		if err != nil {
			return m, fmt.Errorf("courier: opening message %s: %w", m.ID, err)
		}
		m.Body = string(body)
	}
	var wrapped map[string]string
	if json.Unmarshal(m.TemplateData, &wrapped) == nil && len(wrapped) == 1 && wrapped[sealedDataKey] != "" {
		if c.sealer == nil {
			return m, fmt.Errorf("courier: message %s is sealed, and no cipher is set to open it", m.ID)
		}
		data, err := c.sealer.Decrypt(wrapped[sealedDataKey])
		if err != nil {
			return m, fmt.Errorf("courier: opening message %s: %w", m.ID, err)
		}
		m.TemplateData = data
	}
	return m, nil
}
