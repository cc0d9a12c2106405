/** The WebAuthn settings: whether the test authenticators are trusted (with the demo only, by default), and the FIDO metadata file. */
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { describe, it } from 'node:test'
import { resolveSettings, SettingsError } from '../src/settings.ts'

describe('the WebAuthn settings', () => {
  it('trust the test authenticators with the demo and not without it, unless told', () => {
    assert.equal(resolveSettings({}, {}).trustTestAuthenticators, true)
    assert.equal(resolveSettings({ demo: false }, {}).trustTestAuthenticators, false)
    assert.equal(resolveSettings({}, { CAREID_DEMO: 'false' }).trustTestAuthenticators, false)
    assert.equal(resolveSettings({ trustTestAuthenticators: false }, {}).trustTestAuthenticators, false)
    assert.equal(resolveSettings({ demo: false }, { CAREID_TRUST_TEST_AUTHENTICATORS: 'true' }).trustTestAuthenticators, true)
  })

  it('take the FIDO metadata file from the flag or the environment, as an absolute path', () => {
    assert.equal(resolveSettings({}, {}).fidoMetadata, undefined)
    assert.equal(resolveSettings({ fidoMetadata: 'mds.jwt' }, {}).fidoMetadata, resolve('mds.jwt'))
    assert.equal(resolveSettings({}, { CAREID_FIDO_METADATA: '/etc/careid/mds.jwt' }).fidoMetadata, '/etc/careid/mds.jwt')
  })

  it('refuse a trust setting that is not true or false, naming it', () => {
    assert.throws(
      () => resolveSettings({}, { CAREID_TRUST_TEST_AUTHENTICATORS: 'yes' }),
      (error: unknown) => error instanceof SettingsError && /--trust-test-authenticators \(CAREID_TRUST_TEST_AUTHENTICATORS\): must be true or false/.test(error.message),
    )
  })
})
