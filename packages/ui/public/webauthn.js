// The WebAuthn pages (sign in, or add a security key, Windows Hello or a passkey): runs the
// browser's WebAuthn ceremony with the options the page carries in data-options, through
// @simplewebauthn/browser (SimpleWebAuthnBrowser, loaded before this file), and posts the answer
// as `response`. A cancelled or failed ceremony is posted as an empty answer, so the server says
// what went wrong and counts it. Served from 'self': Careid's Content-Security-Policy allows no
// inline script.
;(function () {
  'use strict'
  var box = document.getElementById('webauthn')
  var form = document.getElementById('webauthn-form')
  var answer = document.getElementById('webauthn-response')
  var button = document.getElementById('webauthn-start')
  if (!box || !form || !answer || !button) return
  var lib = window.SimpleWebAuthnBrowser
  var waiting = document.getElementById('webauthn-waiting')
  var unsupported = document.getElementById('webauthn-unsupported')

  if (!lib || !lib.browserSupportsWebAuthn()) {
    if (unsupported) unsupported.hidden = false
    button.hidden = true
    return
  }

  var running = false
  function start() {
    if (running) return
    running = true
    if (waiting) waiting.hidden = false
    var options = JSON.parse(box.getAttribute('data-options'))
    var ceremony = box.getAttribute('data-ceremony') === 'create' ? lib.startRegistration({ optionsJSON: options }) : lib.startAuthentication({ optionsJSON: options })
    ceremony
      .then(function (credential) {
        answer.value = JSON.stringify(credential)
      })
      .catch(function () {
        answer.value = ''
      })
      .then(function () {
        form.submit()
      })
  }

  button.addEventListener('click', start)
  if (box.getAttribute('data-autostart') === 'yes') start()
})()
