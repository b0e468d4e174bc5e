// Hoplite's WebAuthn helper for self-service UIs. A page that renders a
// webauthn_login_trigger or webauthn_register_trigger node includes this
// script; the trigger's onclick calls one of the functions below with the
// options the server put into the node. The function asks the browser for a
// credential, writes the answer as JSON into the matching hidden input
// (webauthn_login / webauthn_register) and submits the trigger's form.
(function () {
  if (window.__oryWebAuthnInitialized) {
    return;
  }
  window.__oryWebAuthnInitialized = true;

  function fromBase64URL(value) {
    var s = String(value).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }

  function toBase64URL(buffer) {
    var bytes = new Uint8Array(buffer);
    var s = '';
    for (var k = 0; k < bytes.length; k++) {
      s += String.fromCharCode(bytes[k]);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function submitWith(inputName, triggerName, value) {
    var input = document.querySelector('input[name="' + inputName + '"]');
    if (!input) {
      throw new Error('Hoplite WebAuthn: the form has no ' + inputName + ' input');
    }
    input.value = JSON.stringify(value);
    var trigger = document.querySelector('[name="' + triggerName + '"]');
    var form = (trigger && trigger.closest('form')) || input.closest('form');
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  window.__oryWebAuthnLogin = function (options) {
    if (!window.PublicKeyCredential) {
      alert('This browser does not support security keys (WebAuthn).');
      return;
    }
    var publicKey = options.publicKey;
    publicKey.challenge = fromBase64URL(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach(function (c) { c.id = fromBase64URL(c.id); });
    navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
      submitWith('webauthn_login', 'webauthn_login_trigger', {
        id: credential.id,
        rawId: toBase64URL(credential.rawId),
        type: credential.type,
        response: {
          authenticatorData: toBase64URL(credential.response.authenticatorData),
          clientDataJSON: toBase64URL(credential.response.clientDataJSON),
          signature: toBase64URL(credential.response.signature),
          userHandle: credential.response.userHandle ? toBase64URL(credential.response.userHandle) : null
        }
      });
    }).catch(function (err) { alert(err); });
  };

  window.__oryWebAuthnRegistration = function (options) {
    if (!window.PublicKeyCredential) {
      alert('This browser does not support security keys (WebAuthn).');
      return;
    }
    var publicKey = options.publicKey;
    publicKey.challenge = fromBase64URL(publicKey.challenge);
    publicKey.user.id = fromBase64URL(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach(function (c) { c.id = fromBase64URL(c.id); });
    navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
      submitWith('webauthn_register', 'webauthn_register_trigger', {
        id: credential.id,
        rawId: toBase64URL(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toBase64URL(credential.response.attestationObject),
          clientDataJSON: toBase64URL(credential.response.clientDataJSON)
        }
      });
    }).catch(function (err) { alert(err); });
  };
})();
