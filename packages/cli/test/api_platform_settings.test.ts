/** The API Platform's settings: its own port (the next one by default), its base URL, and the part a node serves. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveSettings, SettingsError } from '../src/settings.ts'

const env = {}

describe('the API Platform settings', () => {
  it('default to the port after the provider\'s, on the same host', () => {
    const settings = resolveSettings({ port: '9000', host: 'localhost' }, env)
    assert.equal(settings.apiPort, 9001)
    assert.equal(settings.apiBaseUrl, 'http://localhost:9001')
    assert.equal(settings.only, undefined)
  })

  it('take a port, a base URL and a part from flags or the environment', () => {
    const settings = resolveSettings({ port: '9000' }, { CAREID_API_PORT: '9100', CAREID_API_BASE_URL: 'https://api.example.test', CAREID_ONLY: 'api' })
    assert.equal(settings.apiPort, 9100)
    assert.equal(settings.apiBaseUrl, 'https://api.example.test')
    assert.equal(settings.only, 'api')
  })

  it('refuse the provider\'s own port, a bad base URL and an unknown part, naming each', () => {
    assert.throws(
      () => resolveSettings({ port: '9000', apiPort: '9000', apiBaseUrl: 'https://api.example.test/', only: 'gateway' }, env),
      (error: unknown) => {
        assert.ok(error instanceof SettingsError)
        assert.match(error.message, /--api-port \(CAREID_API_PORT\): must differ from --port \(CAREID_PORT\)/)
        assert.match(error.message, /--api-base-url \(CAREID_API_BASE_URL\): must be an absolute http\(s\) URL without query, fragment or trailing slash/)
        assert.match(error.message, /--only \(CAREID_ONLY\): must be provider or api/)
        return true
      },
    )
  })

  it('a bad --port is reported once, not again as the API port it would imply', () => {
    assert.throws(
      () => resolveSettings({ port: 'abc' }, env),
      (error: unknown) => error instanceof SettingsError && error.message === 'Invalid settings:\n  --port (CAREID_PORT): must be a number',
    )
  })

  it('--port 65535 needs --api-port: there is no next port', () => {
    assert.throws(() => resolveSettings({ port: '65535' }, env), /--api-port \(CAREID_API_PORT\): give it: the next port after --port \(CAREID_PORT\) 65535 does not exist/)
    assert.equal(resolveSettings({ port: '65535', apiPort: '8081' }, env).apiPort, 8081)
  })
})
