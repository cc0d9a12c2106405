// The smartcard sign-in page: asks the Identity Agent on this computer (its local API, the page's
// only connect-src besides 'self') for a ticket over this sign-in's challenge, then posts it.
// Served from 'self': Careid's Content-Security-Policy allows no inline script.
;(function () {
  'use strict'
  var box = document.getElementById('smartcard')
  var form = document.getElementById('smartcard-form')
  var ticket = document.getElementById('smartcard-ticket')
  if (!box || !form || !ticket) return
  var messages = ['smartcard-waiting', 'smartcard-no-agent', 'smartcard-no-card', 'smartcard-not-signed-in', 'smartcard-refused']

  function show(id) {
    for (var i = 0; i < messages.length; i++) {
      var element = document.getElementById(messages[i])
      if (element) element.hidden = messages[i] !== id
    }
  }

  // The agent's `error` codes, each to the message a person can act on.
  var byError = { no_card: 'smartcard-no-card', no_session: 'smartcard-not-signed-in', cancelled: 'smartcard-not-signed-in', card_locked: 'smartcard-not-signed-in', wrong_origin: 'smartcard-refused' }

  function start() {
    show('smartcard-waiting')
    fetch(box.getAttribute('data-agent') + '/ticket', {
      method: 'POST',
      mode: 'cors',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ challenge: box.getAttribute('data-challenge') }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body }
        })
      })
      .then(function (answer) {
        if (answer.ok && typeof answer.body.ticket === 'string') {
          ticket.value = answer.body.ticket
          form.submit()
        } else {
          show(byError[answer.body && answer.body.error] || 'smartcard-not-signed-in')
        }
      })
      .catch(function () {
        // Unreachable, or it refused this origin (no CORS headers): both read as "not running".
        show('smartcard-no-agent')
      })
  }

  var retry = document.getElementById('smartcard-retry')
  if (retry) {
    retry.addEventListener('click', function (event) {
      event.preventDefault()
      start()
    })
  }
  if (box.getAttribute('data-autostart') === 'yes') start()
})()
