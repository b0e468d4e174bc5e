package ui

import (
	"fmt"
	"time"
)

// Message ids are part of the wire contract (UIs translate by id); the
// English texts are Hoplite's own wording.

func info(id int64, text string, ctx any) Text {
	return Text{ID: id, Text: text, Type: Info, Context: ctx}
}
func errText(id int64, text string, ctx any) Text {
	return Text{ID: id, Text: text, Type: Error, Context: ctx}
}

// empty is the explicit empty context some messages carry.
func empty() map[string]any { return map[string]any{} }

// --- 101xxxx login ---

func InfoLogin() Text                { return info(1010001, "Sign in", empty()) }
func InfoLoginWithSecurityKey() Text { return info(1010001, "Sign in with security key", empty()) }
func InfoLoginReauth() Text {
	return info(1010003, "Please confirm it is you by signing in again.", empty())
}
func InfoLoginMFA() Text {
	return info(1010004, "Please complete the second authentication step.", empty())
}
func InfoLoginTOTPLabel() Text       { return info(1010006, "Authentication code", empty()) }
func InfoLoginLookupLabel() Text     { return info(1010007, "Backup recovery code", empty()) }
func InfoLoginWebAuthnTrigger() Text { return info(1010008, "Use security key", nil) }
func InfoLoginTOTP() Text            { return info(1010009, "Use Authenticator", empty()) }
func InfoLoginLookup() Text          { return info(1010010, "Use backup recovery code", empty()) }
func InfoLoginWebAuthnPrepare() Text {
	return info(1010012, "Get your security key or biometric device ready, then press continue.", empty())
}
func InfoLoginWebAuthnContinue() Text { return info(1010013, "Continue", nil) }

// InfoLoginWith is the label of a social sign-in button.
func InfoLoginWith(provider string) Text {
	return info(1010002, "Sign in with "+provider, map[string]any{"provider": provider})
}

// --- 104xxxx registration ---

func InfoRegistration() Text                { return info(1040001, "Sign up", empty()) }
func InfoRegistrationContinue() Text        { return info(1040003, "Continue", nil) }
func InfoRegistrationWithSecurityKey() Text { return info(1040004, "Sign up with security key", nil) }

// InfoRegistrationWith is the label of a social sign-up button.
func InfoRegistrationWith(provider string) Text {
	return info(1040002, "Sign up with "+provider, map[string]any{"provider": provider})
}

// --- 105xxxx settings ---

func InfoSettingsSaved() Text { return info(1050001, "Your changes have been saved.", nil) }

// InfoSettingsLink / InfoSettingsUnlink label social account buttons.
func InfoSettingsLink(provider string) Text {
	return info(1050002, "Link "+provider, map[string]any{"provider": provider})
}
func InfoSettingsUnlink(provider string) Text {
	return info(1050003, "Unlink "+provider, map[string]any{"provider": provider})
}
func InfoSettingsTOTPUnlink() Text { return info(1050004, "Unlink TOTP Authenticator App", nil) }
func InfoSettingsTOTPQRCode() Text { return info(1050005, "Authenticator app QR code", nil) }
func InfoSettingsTOTPSecretLabel() Text {
	return info(1050017, "Your authenticator app secret, for when the QR code cannot be scanned.", nil)
}

// InfoSettingsTOTPSecret carries the base32 TOTP secret.
func InfoSettingsTOTPSecret(secret string) Text {
	return info(1050006, secret, map[string]any{"secret": secret})
}
func InfoSettingsLookupReveal() Text { return info(1050007, "Reveal backup recovery codes", nil) }
func InfoSettingsLookupRegenerate() Text {
	return info(1050008, "Generate new backup recovery codes", nil)
}
func InfoSettingsLookupConfirm() Text { return info(1050011, "Confirm backup recovery codes", nil) }
func InfoSettingsWebAuthnAdd() Text   { return info(1050012, "Add security key", nil) }
func InfoSettingsWebAuthnName() Text  { return info(1050013, "Name of the security key", nil) }
func InfoSettingsDisable() Text       { return info(1050016, "Disable this method", nil) }

// --- 106xxxx recovery ---

// InfoRecoverySuccessful is shown on the settings flow a recovery opens.
func InfoRecoverySuccessful(privilegedUntil time.Time) Text {
	minutes := time.Until(privilegedUntil).Minutes()
	return info(1060001, fmt.Sprintf("Your account is recovered. Change your password or add another way to sign in within the next %.2f minutes.", minutes),
		map[string]any{"privilegedSessionExpiresAt": privilegedUntil})
}
func InfoRecoveryEmailSent() Text {
	return info(1060002, "If the address belongs to an account, a recovery link is on its way to it.", empty())
}

// --- 107xxxx node labels ---

func InfoNodeLabelPassword() Text   { return info(1070001, "Password", nil) }
func InfoNodeLabelSave() Text       { return info(1070003, "Save", nil) }
func InfoNodeLabelID() Text         { return info(1070004, "ID", nil) }
func InfoNodeLabelSubmit() Text     { return info(1070005, "Submit", nil) }
func InfoNodeLabelVerifyCode() Text { return info(1070006, "Verify code", nil) }
func InfoNodeLabelEmail() Text      { return info(1070007, "Email", nil) }

// InfoNodeLabelGenerated is a label taken from a schema's title.
func InfoNodeLabelGenerated(title string) Text { return info(1070002, title, nil) }

// --- 108xxxx verification ---

func InfoVerificationEmailSent() Text {
	return info(1080001, "A verification link is on its way to the address you entered.", empty())
}
func InfoVerificationSuccessful() Text { return info(1080002, "Your email address is verified.", nil) }

// --- 4xxxxxx errors ---

// ErrValidation is the generic validation error carrying a reason.
func ErrValidation(reason string) Text { return errText(4000001, reason, nil) }

// ErrMissingProperty names a required field that was not sent.
func ErrMissingProperty(property string) Text {
	return errText(4000002, fmt.Sprintf("Property %s is missing.", property), map[string]any{"property": property})
}

// ErrPasswordPolicy explains why a password was refused.
func ErrPasswordPolicy(reason string) Text {
	return errText(4000005, fmt.Sprintf("The password can not be used because %s.", reason), map[string]any{"reason": reason})
}
func ErrInvalidCredentials() Text {
	return errText(4000006, "The credentials are not valid. Check the identifier and the password for typos.", empty())
}
func ErrDuplicateIdentifier() Text {
	return errText(4000007, "An account with this identifier (email, phone, username, …) exists already.", empty())
}
func ErrInvalidTOTPCode() Text {
	return errText(4000008, "The authentication code is not valid. Please try again.", empty())
}
func ErrNoIdentifier() Text {
	return errText(4000009, "No login identifier was found in the traits. Check the form, or the identity schema if you run this server.", nil)
}
func ErrAddressNotVerified() Text {
	return errText(4000010, "This account is not active yet. Please verify your email address first.", nil)
}
func ErrNoTOTPDevice() Text {
	return errText(4000011, "No authenticator app is set up for this account.", empty())
}
func ErrLookupCodeUsed() Text {
	return errText(4000012, "This backup recovery code was used already.", empty())
}
func ErrNoWebAuthnDevice() Text {
	return errText(4000013, "No security key is set up for this account.", empty())
}
func ErrNoLookupCodes() Text {
	return errText(4000014, "No backup recovery codes are set up for this account.", empty())
}
func ErrNoSuchWebAuthnUser() Text {
	return errText(4000015, "Either this account does not exist or it has no security key.", empty())
}
func ErrLookupCodeInvalid() Text {
	return errText(4000016, "This backup recovery code is not valid.", empty())
}

// ErrTooManyAttempts refuses an attempt while its account or client
// address is throttled (a Hoplite message: Kratos has no brute-force
// protection, so its ids end below 4000100; this range is Hoplite's own).
// The context carries the wait in seconds, also sent as Retry-After.
func ErrTooManyAttempts(retryAfter time.Duration) Text {
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	return errText(4000100, fmt.Sprintf("Too many failed attempts. Please try again in %d seconds.", secs),
		map[string]any{"retry_after_seconds": secs})
}

// ErrNoStrategy says no method handled the submission of a flow kind.
func ErrNoStrategy(kind string) Text {
	switch kind {
	case "registration":
		return errText(4010003, "No sign-up method matched the submitted form. Please check what you entered.", nil)
	case "settings":
		return errText(4010004, "No settings method matched the submitted form. Please check what you entered.", nil)
	case "recovery":
		return errText(4010005, "No recovery method matched the submitted form. Please check what you entered.", nil)
	case "verification":
		return errText(4010006, "No verification method matched the submitted form. Please check what you entered.", nil)
	default:
		return errText(4010002, "No sign-in method matched the submitted form. Please check what you entered.", nil)
	}
}

// ErrFlowExpired is placed on the replacement of an expired flow.
func ErrFlowExpired(kind string, expiredAt time.Time) Text {
	ids := map[string]int64{"login": 4010001, "registration": 4040001, "settings": 4050001, "recovery": 4060005, "verification": 4070005}
	ago := time.Since(expiredAt).Minutes()
	return errText(ids[kind], fmt.Sprintf("The %s flow expired %.2f minutes ago. Please try again.", kind, ago),
		map[string]any{"expired_at": expiredAt})
}

func ErrRecoveryRetrySuccess() Text {
	return errText(4060001, "This request was completed already and cannot be repeated.", empty())
}
func ErrRecoveryStateFailure() Text {
	return errText(4060002, "The recovery flow failed and has to be started again.", empty())
}
func ErrRecoveryTokenInvalid() Text {
	return errText(4060004, "The recovery link is not valid or was used already. Please request a new one.", empty())
}
func ErrVerificationTokenInvalid() Text {
	return errText(4070001, "The verification link is not valid or was used already. Please request a new one.", empty())
}
func ErrVerificationRetrySuccess() Text {
	return errText(4070002, "This request was completed already and cannot be repeated.", empty())
}
func ErrVerificationStateFailure() Text {
	return errText(4070003, "The verification flow failed and has to be started again.", empty())
}
