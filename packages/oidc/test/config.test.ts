/** The realm of a CIS2-shaped issuer (the `realm` claim) and the CIS2/NIST defaults. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultConfig, realmOf } from '../src/config.ts'

describe('realmOf', () => {
  it('is /NHSIdentity/Healthcare for the CIS2 issuers, with or without :443', () => {
    assert.equal(realmOf('https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'), '/NHSIdentity/Healthcare')
    assert.equal(realmOf('https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'), '/NHSIdentity/Healthcare')
    assert.equal(realmOf('http://localhost:8080/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'), '/NHSIdentity/Healthcare')
  })

  it('follows the older dev realm path', () => {
    assert.equal(realmOf('https://am.nhsdev.auth-ptl.cis2.spineservices.nhs.uk/openam/oauth2/realms/root/realms/oidc'), '/oidc')
  })

  it('is / for the root realm or an issuer without realms', () => {
    assert.equal(realmOf('https://op.example.test'), '/')
    assert.equal(realmOf('https://op.example.test/openam/oauth2/realms/root'), '/')
    assert.equal(realmOf('https://op.example.test/tenant/a'), '/')
  })
})

describe('defaultConfig', () => {
  it('keeps the issuer verbatim and uses the CIS2 and NIST SP 800-63B values', () => {
    const issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
    const c = defaultConfig(issuer)
    assert.equal(c.issuer, issuer)
    assert.equal(c.accessTokenTtlMs, 3599_000, 'CIS2 expires_in 3599')
    assert.ok(c.codeTtlMs > 0 && c.codeTtlMs <= 60_000, 'codes live at most 60 s')
    assert.ok(c.codeRetainMs > c.codeTtlMs, 'a redeemed code is remembered beyond its life, to detect reuse')
    assert.deepEqual(c.sessionLimits[2], { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 })
    assert.deepEqual(c.sessionLimits[3], { idleMs: 15 * 60_000, absoluteMs: 12 * 3600_000 })
    assert.ok(c.clientAssertionMaxTtlMs <= 5 * 60_000)
    assert.ok(c.logoutRetryBaseMs < c.logoutRetryMaxMs && c.logoutRetryMaxMs < c.logoutGiveUpMs)
  })
})
