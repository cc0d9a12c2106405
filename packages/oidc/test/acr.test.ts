/**
 * CIS2's authentication context classes (cis2.md 3.6): level classes are met by any method at or
 * above their level, method classes only by their own amr; the `acr` claim names the first
 * requested class the sign-in met; no acr_values means AAL3_ANY.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { acrValuesSupported, defaultAcr, isAcr, meets, requestedAcrs, satisfiedAcr } from '../src/acr.ts'

describe('meets', () => {
  it('level classes are met at or above their level, whatever the method', () => {
    assert.equal(meets('AAL3_ANY', ['N3_SMARTCARD'], 3), true)
    assert.equal(meets('AAL3_ANY', ['FIDO2'], 3), true)
    assert.equal(meets('AAL3_ANY', ['TOTP'], 2), false, 'AAL2 does not answer a request for AAL3')
    assert.equal(meets('AAL2_OR_AAL3_ANY', ['TOTP'], 2), true)
    assert.equal(meets('AAL2_OR_AAL3_ANY', ['N3_SMARTCARD'], 3), true, 'with AAL2 requested, AAL3 authenticators may be used')
    assert.equal(meets('AAL2_OR_AAL3_ANY', ['USERPASS'], 1), false)
    assert.equal(meets('AAL2_ANY', ['TOTP'], 2), true)
    assert.equal(meets('AAL2_ANY', ['USERPASS'], 1), false)
  })

  it('method classes are met only by their own amr', () => {
    assert.equal(meets('AAL2_TOTP', ['TOTP'], 2), true)
    assert.equal(meets('AAL2_TOTP', ['N3_SMARTCARD'], 3), false, 'a stronger method is not the requested method')
    assert.equal(meets('AAL1_USERPASS', ['USERPASS'], 1), true)
    assert.equal(meets('AAL1_USERPASS', ['TOTP'], 2), false)
    assert.equal(meets('AAL3_N3_SMARTCARD', ['N3_SMARTCARD'], 3), true)
    assert.equal(meets('AAL3_N3_SMARTCARD', ['CIS2_SMARTCARD'], 3), false)
    assert.equal(meets('AAL3_CIS2_SMARTCARD', ['CIS2_SMARTCARD'], 3), true)
    assert.equal(meets('AAL3_IOS', ['IOS'], 3), true)
    assert.equal(meets('AAL3_FIDO2', ['FIDO2'], 3), true)
    assert.equal(meets('AAL3_FIDO2', ['IOS'], 3), false)
    assert.equal(meets('AAL2_NHSMAIL', ['NHSMAIL'], 2), true)
    assert.equal(meets('AAL2_NHSMAIL', ['TOTP'], 2), false)
  })

  it('a method-specific class needs its level too: a FIDO2 or passkey proof at AAL2 meets no AAL3 class', () => {
    assert.equal(meets('AAL3_FIDO2', ['FIDO2'], 2), false)
    assert.equal(meets('AAL3_PASSKEY', ['PASSKEY'], 2), false)
    assert.equal(meets('AAL3_PASSKEY', ['PASSKEY'], 3), true)
    assert.equal(meets('AAL2_PASSKEY', ['PASSKEY'], 2), true)
    assert.equal(meets('AAL2_PASSKEY', ['PASSKEY'], 3), true)
    assert.equal(meets('AAL2_PASSKEY', ['FIDO2'], 3), false)
    assert.equal(meets('AAL3_ANY', ['PASSKEY'], 2), false)
  })

  it('AAL3_SMARTCARD is met by either kind of smartcard and nothing else', () => {
    assert.equal(meets('AAL3_SMARTCARD', ['N3_SMARTCARD'], 3), true)
    assert.equal(meets('AAL3_SMARTCARD', ['CIS2_SMARTCARD'], 3), true)
    assert.equal(meets('AAL3_SMARTCARD', ['FIDO2'], 3), false)
  })

  it('any one of several methods in amr is enough', () => {
    assert.equal(meets('AAL2_TOTP', ['USERPASS', 'TOTP'], 2), true)
    assert.equal(meets('AAL2_TOTP', [], 2), false)
  })
})

describe('satisfiedAcr', () => {
  it('names the first requested class (in preference order) that the sign-in met', () => {
    assert.equal(satisfiedAcr(['AAL2_TOTP', 'AAL2_OR_AAL3_ANY'], ['TOTP'], 2), 'AAL2_TOTP')
    assert.equal(satisfiedAcr(['AAL2_OR_AAL3_ANY', 'AAL2_TOTP'], ['TOTP'], 2), 'AAL2_OR_AAL3_ANY')
  })

  it('skips classes the sign-in did not meet', () => {
    assert.equal(satisfiedAcr(['AAL3_ANY', 'AAL2_TOTP'], ['TOTP'], 2), 'AAL2_TOTP')
    assert.equal(satisfiedAcr(['AAL3_FIDO2', 'AAL1_USERPASS', 'AAL3_ANY'], ['N3_SMARTCARD'], 3), 'AAL3_ANY')
  })

  it('is undefined when nothing requested was met (a step-up is needed)', () => {
    assert.equal(satisfiedAcr(['AAL3_ANY'], ['TOTP'], 2), undefined)
    assert.equal(satisfiedAcr(['AAL2_TOTP', 'AAL3_ANY'], ['USERPASS'], 1), undefined)
    assert.equal(satisfiedAcr([], ['TOTP'], 2), undefined)
  })
})

describe('requestedAcrs', () => {
  it('defaults to AAL3_ANY when acr_values is absent ("If absent, CIS2 behaves as AAL3")', () => {
    assert.equal(defaultAcr, 'AAL3_ANY')
    assert.deepEqual(requestedAcrs([]), ['AAL3_ANY'])
  })

  it('keeps known values in the order given and drops unknown ones', () => {
    assert.deepEqual(requestedAcrs(['AAL2_TOTP', 'urn:example:loa', 'AAL3_ANY']), ['AAL2_TOTP', 'AAL3_ANY'])
    assert.deepEqual(requestedAcrs(['AAL3_ANY', 'AAL2_TOTP']), ['AAL3_ANY', 'AAL2_TOTP'])
  })

  it('falls back to the default when every value is unknown, so an unknown value never lowers the level', () => {
    assert.deepEqual(requestedAcrs(['aal2', 'AAL4_ANY']), ['AAL3_ANY'])
  })

  it('is case sensitive', () => {
    assert.equal(isAcr('aal3_any'), false)
    assert.deepEqual(requestedAcrs(['aal2_totp']), ['AAL3_ANY'])
  })
})

describe('acrValuesSupported', () => {
  it('lists every CIS2 class once, the default first', () => {
    assert.equal(acrValuesSupported[0], 'AAL3_ANY')
    assert.equal(new Set(acrValuesSupported).size, acrValuesSupported.length)
    for (const acr of ['AAL2_OR_AAL3_ANY', 'AAL2_ANY', 'AAL1_USERPASS', 'AAL3_IOS', 'AAL3_FIDO2', 'AAL3_N3_SMARTCARD', 'AAL3_CIS2_SMARTCARD', 'AAL3_SMARTCARD', 'AAL2_TOTP', 'AAL2_NHSMAIL']) {
      assert.ok(isAcr(acr), acr)
    }
  })
})
