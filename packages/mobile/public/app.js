// The NHS CIS2 app: Careid's companion for a worker's tablet or phone (CIS2's iPad app, AAL3_IOS).
//
// Registration: the Registration Authority gives the worker a one-time link (`#register=<token>`).
// The app makes a device key pair with WebCrypto (ECDSA P-256, the private half non-extractable,
// kept in IndexedDB) and a WebAuthn platform credential (the biometric gate, user verification
// required), sends both public halves, and shows the code the RA confirms.
//
// Sign-in: the app waits for sign-in requests (a long poll), shows each (application, organisation,
// when), and the worker enters the number the sign-in page shows and confirms with their
// fingerprint, face or passcode. Every call after registration is a JWS signed with the device key,
// for one endpoint (`aud`), once (`jti`), now (`iat`).
;(function () {
  'use strict'

  var DB = 'careid-mobile'
  var STORE = 'device'
  var screens = ['loading', 'unsupported', 'unregistered', 'register', 'confirm', 'ready', 'revoked']

  function $(id) {
    return document.getElementById(id)
  }

  function show(name) {
    for (var i = 0; i < screens.length; i++) $('screen-' + screens[i]).hidden = screens[i] !== name
  }

  function problem(text) {
    $('problem-text').textContent = text || ''
    $('problem').hidden = !text
  }

  // --- Storage: the device record (its id, key pair and names) in IndexedDB ---------------------

  function database() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB, 1)
      open.onupgradeneeded = function () {
        open.result.createObjectStore(STORE)
      }
      open.onsuccess = function () {
        resolve(open.result)
      }
      open.onerror = function () {
        reject(open.error)
      }
    })
  }

  function stored(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode)
        var request = work(tx.objectStore(STORE))
        tx.oncomplete = function () {
          resolve(request && request.result)
        }
        tx.onerror = function () {
          reject(tx.error)
        }
      })
    })
  }

  var loadDevice = function () {
    return stored('readonly', function (s) {
      return s.get('current')
    })
  }
  var saveDevice = function (device) {
    return stored('readwrite', function (s) {
      return s.put(device, 'current')
    })
  }
  var forgetDevice = function () {
    return stored('readwrite', function (s) {
      return s.delete('current')
    })
  }

  // --- Calls ---------------------------------------------------------------------------------------

  function endpoint(path) {
    return new URL(path, document.baseURI).href
  }

  function CallError(status, body) {
    this.status = status
    this.body = body || {}
    this.message = (body && body.error_description) || 'Careid could not be reached. Check the connection and try again.'
  }

  function post(path, body, signal) {
    return fetch(endpoint(path), {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: signal,
    }).then(
      function (response) {
        return response.json().then(
          function (answer) {
            if (!response.ok) throw new CallError(response.status, answer)
            return answer
          },
          function () {
            throw new CallError(response.status)
          },
        )
      },
      function (error) {
        if (error && error.name === 'AbortError') throw error
        throw new CallError(0)
      },
    )
  }

  function base64url(bytes) {
    var text = ''
    var view = new Uint8Array(bytes)
    for (var i = 0; i < view.length; i++) text += String.fromCharCode(view[i])
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  }

  function utf8(text) {
    return new TextEncoder().encode(text)
  }

  function randomId() {
    var bytes = new Uint8Array(24)
    crypto.getRandomValues(bytes)
    return base64url(bytes)
  }

  /** A compact JWS over `claims`, signed with the device key (WebCrypto's ECDSA gives JWS's r||s). */
  function signed(device, path, claims) {
    var header = base64url(utf8(JSON.stringify({ alg: 'ES256', kid: device.id, typ: 'JWT' })))
    var payload = Object.assign({ aud: endpoint(path), iat: Math.floor(Date.now() / 1000), jti: randomId() }, claims)
    var input = header + '.' + base64url(utf8(JSON.stringify(payload)))
    return crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, device.keys.privateKey, utf8(input)).then(function (signature) {
      return input + '.' + base64url(signature)
    })
  }

  function deviceCall(device, path, claims, signal) {
    return signed(device, path, claims || {}).then(function (jws) {
      return post(path, { jws: jws }, signal)
    })
  }

  /** A refusal that means this device may no longer call: its record is forgotten. */
  function isRevoked(error) {
    return error instanceof CallError && error.status === 401 && (error.body.reason === 'device_revoked' || error.body.reason === 'unknown_device')
  }

  function revoked() {
    return forgetDevice().then(function () {
      problem('')
      show('revoked')
    })
  }

  // --- Registration --------------------------------------------------------------------------------

  function defaultName() {
    var ua = navigator.userAgent
    if (/iPad/.test(ua)) return 'iPad'
    if (/iPhone/.test(ua)) return 'iPhone'
    if (/Android/.test(ua)) return 'Android device'
    return 'Tablet or phone'
  }

  function register(token) {
    show('loading')
    post('api/register/options', { token: token }).then(
      function (answer) {
        $('register-worker').textContent = answer.worker
        $('register-name').value = defaultName()
        show('register')
        var button = $('register-button')
        button.onclick = function () {
          button.disabled = true
          problem('')
          completeRegistration(token, answer.options).catch(function (error) {
            button.disabled = false
            problem(error && error.message ? error.message : 'The registration did not complete. Try again.')
          })
        }
      },
      function (error) {
        show('unregistered')
        problem(error.message)
      },
    )
  }

  function completeRegistration(token, options) {
    var keys
    var device
    // The private key cannot be exported: it never leaves this browser's key store.
    return crypto.subtle
      .generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
      .then(function (pair) {
        keys = pair
        return crypto.subtle.exportKey('jwk', pair.publicKey)
      })
      .then(function (jwk) {
        return SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options }).then(function (attestation) {
          return post('api/register', { token: token, key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, attestation: attestation, name: $('register-name').value })
        })
      })
      .then(function (answer) {
        device = { id: answer.device_id, keys: keys, worker: answer.worker, name: $('register-name').value, code: answer.code }
        return saveDevice(device)
      })
      .then(function () {
        awaitConfirmation(device)
      })
  }

  function awaitConfirmation(device) {
    $('confirm-code').textContent = device.code || ''
    show('confirm')
    deviceCall(device, 'api/device').then(
      function (answer) {
        if (answer.status === 'active') {
          delete device.code
          device.worker = answer.worker
          saveDevice(device).then(function () {
            ready(device)
          })
        } else {
          setTimeout(function () {
            awaitConfirmation(device)
          }, 3000)
        }
      },
      function (error) {
        if (isRevoked(error)) return revoked()
        problem(error.message)
        setTimeout(function () {
          awaitConfirmation(device)
        }, 5000)
      },
    )
  }

  // --- Sign-in requests ----------------------------------------------------------------------------

  var shownRequests = {}

  function outcome(text) {
    $('ready-outcome-text').textContent = text
    $('ready-outcome').hidden = !text
  }

  function ready(device) {
    $('ready-worker').textContent = device.worker || ''
    $('ready-device').textContent = device.name || 'this device'
    show('ready')
    poll(device)
  }

  function poll(device) {
    // The server answers as soon as the requests differ from those on screen (one made, answered
    // or expired), or after a while with the same.
    deviceCall(device, 'api/requests', { known: Object.keys(shownRequests) }).then(
      function (answer) {
        problem('')
        render(device, answer.requests)
        setTimeout(function () {
          poll(device)
        }, 1000)
      },
      function (error) {
        if (isRevoked(error)) return revoked()
        problem(error.message)
        setTimeout(function () {
          poll(device)
        }, 5000)
      },
    )
  }

  function render(device, requests) {
    var list = $('ready-requests')
    var live = {}
    for (var i = 0; i < requests.length; i++) {
      var request = requests[i]
      live[request.id] = true
      if (!shownRequests[request.id]) {
        shownRequests[request.id] = card(device, request)
        list.appendChild(shownRequests[request.id])
        outcome('')
      }
    }
    for (var id in shownRequests) {
      if (!live[id] && !shownRequests[id].getAttribute('data-busy')) {
        shownRequests[id].remove()
        delete shownRequests[id]
      }
    }
    $('ready-none').hidden = requests.length > 0
  }

  function card(device, request) {
    var node = $('request-template').content.firstElementChild.cloneNode(true)
    function field(name) {
      return node.querySelector('[data-field="' + name + '"]')
    }
    node.setAttribute('data-request', request.id)
    field('client').textContent = request.client_name
    field('organisations').textContent = request.organisations.length > 0 ? request.organisations.join(', ') : 'Not known'
    field('when').textContent = new Date(request.created_at).toLocaleTimeString()
    field('source').textContent = request.source || 'Not known'
    var input = field('number')
    input.id = 'number-' + request.id
    field('number-label').setAttribute('for', input.id)

    function finished(text) {
      node.remove()
      delete shownRequests[request.id]
      outcome(text)
    }

    function busy(on) {
      field('approve').disabled = on
      field('decline').disabled = on
      if (on) node.setAttribute('data-busy', 'yes')
      else node.removeAttribute('data-busy')
    }

    field('approve').onclick = function () {
      var number = input.value.trim()
      if (!/^[0-9]{2}$/.test(number)) {
        problem('Enter the 2-digit number shown on the sign-in page.')
        input.focus()
        return
      }
      problem('')
      busy(true)
      SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: request.webauthn })
        .then(function (assertion) {
          return deviceCall(device, 'api/approve', { request: request.id, number: number, assertion: assertion })
        })
        .then(
          function (answer) {
            finished(
              answer.outcome === 'approved'
                ? 'Approved. Go back to your computer: the sign-in to ' + request.client_name + ' continues there.'
                : 'The number did not match the sign-in page, so the sign-in was stopped. If you did not try to sign in, tell your Registration Authority.',
            )
          },
          function (error) {
            busy(false)
            if (isRevoked(error)) return revoked()
            problem(error && error.message ? error.message : 'The approval was not confirmed with your fingerprint, face or passcode. Try again.')
          },
        )
    }

    field('decline').onclick = function () {
      busy(true)
      deviceCall(device, 'api/decline', { request: request.id }).then(
        function () {
          finished('Declined. If you did not try to sign in, tell your Registration Authority.')
        },
        function (error) {
          busy(false)
          if (isRevoked(error)) return revoked()
          problem(error.message)
        },
      )
    }
    return node
  }

  // --- Start ---------------------------------------------------------------------------------------

  function start() {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.PublicKeyCredential || !window.indexedDB || typeof SimpleWebAuthnBrowser === 'undefined') {
      show('unsupported')
      return
    }
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(function () {})
    var match = /^#register=([A-Za-z0-9._-]+)$/.exec(location.hash)
    if (match) {
      // The link works once: it leaves the address bar (and the history) at once.
      history.replaceState(null, '', location.pathname + location.search)
      register(match[1])
      return
    }
    loadDevice().then(
      function (device) {
        if (!device) return show('unregistered')
        if (device.code) return awaitConfirmation(device)
        ready(device)
      },
      function () {
        show('unregistered')
      },
    )
  }

  start()
})()
