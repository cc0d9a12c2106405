// The mobile app's waiting page: asks Careid whether the sign-in request was answered on the
// worker's tablet or phone, and posts the step's form as soon as it was (approved, or refused:
// the form's answer then says why). Served from 'self': Careid's CSP allows no inline script.
;(function () {
  'use strict'
  var box = document.getElementById('mobile-wait')
  var form = document.getElementById('mobile-form')
  if (!box || !form) return
  var url = box.getAttribute('data-status-url')
  var request = box.getAttribute('data-request')
  var waiting = document.getElementById('mobile-waiting')
  var answered = document.getElementById('mobile-answered')
  if (waiting) waiting.hidden = false

  function settle() {
    if (waiting) waiting.hidden = true
    if (answered) answered.hidden = false
    form.submit()
  }

  function poll() {
    fetch(url, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: request }),
    })
      .then(function (response) {
        return response.ok ? response.json() : { status: 'pending' }
      })
      .then(function (answer) {
        if (answer.status === 'pending') setTimeout(poll, 1500)
        else settle()
      })
      .catch(function () {
        setTimeout(poll, 3000)
      })
  }
  setTimeout(poll, 1000)
})()
