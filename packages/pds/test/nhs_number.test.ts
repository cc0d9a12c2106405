import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isValidNhsNumber, nhsCheckDigit } from '../src/nhs_number.ts'

describe('NHS numbers', () => {
  it('accepts numbers whose last digit is the modulus 11 check digit', () => {
    // 943 476 5919 is NHS England's published example; 9000000009 is the demo population's first.
    assert.equal(isValidNhsNumber('9434765919'), true)
    assert.equal(isValidNhsNumber('4010232137'), true)
    assert.equal(isValidNhsNumber('9000000009'), true)
  })

  it('refuses a wrong check digit, a transposition, and anything not ten digits', () => {
    assert.equal(isValidNhsNumber('9434765918'), false)
    assert.equal(isValidNhsNumber('9434765991'), false)
    assert.equal(isValidNhsNumber('4943765919'), false)
    assert.equal(isValidNhsNumber('943476591'), false)
    assert.equal(isValidNhsNumber('94347659190'), false)
    assert.equal(isValidNhsNumber('943 476 5919'), false)
    assert.equal(isValidNhsNumber('943476591X'), false)
  })

  it('maps a check of 11 to 0 and has no valid number where the check would be 10', () => {
    // 100000000: sum 10, remainder 10, check 1. 000000001: sum 2, check 9. 000000000: check 11 → 0.
    assert.equal(nhsCheckDigit('100000000'), 1)
    assert.equal(nhsCheckDigit('000000001'), 9)
    assert.equal(nhsCheckDigit('000000000'), 0)
    assert.equal(isValidNhsNumber('0000000000'), true)
    // The eighth digit weighs 3: sum 3, check 8. The ninth weighs 2: 6 × 2 = 12, remainder 1, check 10.
    assert.equal(nhsCheckDigit('000000010'), 8)
    assert.equal(nhsCheckDigit('000000006'), undefined)
    for (let last = 0; last <= 9; last++) assert.equal(isValidNhsNumber(`000000006${last}`), false)
    assert.equal(nhsCheckDigit('12345678'), undefined)
  })
})
