// Hoplite's built-in pages work without JavaScript; this file only runs the
// click actions that flow nodes carry (a security key's onclick), without
// inline script, so the pages' Content-Security-Policy can forbid it.
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('[data-ory-onclick]') : null;
    if (!button) {
      return;
    }
    var call = /^\s*window\.(__ory[A-Za-z]+)\(([\s\S]*)\)\s*;?\s*$/.exec(button.getAttribute('data-ory-onclick'));
    if (!call || typeof window[call[1]] !== 'function') {
      return;
    }
    var options;
    try {
      options = JSON.parse(call[2]);
    } catch (e) {
      return;
    }
    event.preventDefault();
    window[call[1]](options);
  });
})();
