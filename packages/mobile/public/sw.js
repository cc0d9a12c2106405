// The NHS CIS2 app's service worker: makes the app installable and lets it open without a network
// (it then says it cannot reach Careid). The app's own files are fetched from the network first,
// so an updated app is used as soon as it is reachable; the API is never cached.
'use strict'
var CACHE = 'careid-mobile-v1'
var SHELL = ['./', 'app.js', 'app.css', 'manifest.webmanifest', 'icon-192.png', 'icon-512.png', 'apple-touch-icon.png']

self.addEventListener('install', function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(SHELL)
    }),
  )
})

self.addEventListener('activate', function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(
        keys
          .filter(function (key) {
            return key !== CACHE
          })
          .map(function (key) {
            return caches.delete(key)
          }),
      )
    }),
  )
})

self.addEventListener('fetch', function (event) {
  var request = event.request
  var url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.indexOf('/api/') !== -1) return
  event.respondWith(
    fetch(request)
      .then(function (response) {
        if (response.ok && url.pathname.indexOf(new URL('./', self.location.href).pathname) === 0) {
          var copy = response.clone()
          caches.open(CACHE).then(function (cache) {
            cache.put(request, copy)
          })
        }
        return response
      })
      .catch(function () {
        return caches.match(request, { ignoreSearch: true })
      }),
  )
})
