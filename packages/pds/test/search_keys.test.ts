import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normaliseName, normalisePostcode, soundex } from '../src/search_keys.ts'

describe('search keys', () => {
  it('normalises names to upper case A-Z, folding accents and dropping punctuation', () => {
    assert.equal(normaliseName("O'Brien"), 'OBRIEN')
    assert.equal(normaliseName('Zoë'), 'ZOE')
    assert.equal(normaliseName(' smith-jones '), 'SMITHJONES')
  })

  it('normalises postcodes to upper case without spaces', () => {
    assert.equal(normalisePostcode(' ls1 4ap'), 'LS14AP')
  })

  it('gives names that sound alike one Soundex key', () => {
    assert.equal(soundex('Smith'), 'S530')
    assert.equal(soundex('Smythe'), 'S530')
    assert.equal(soundex('Robert'), 'R163')
    assert.equal(soundex('Rupert'), 'R163')
    assert.equal(soundex('Ashcraft'), 'A261')
    assert.equal(soundex('Tymczak'), 'T522')
    assert.equal(soundex('Pfister'), 'P236')
    assert.equal(soundex('Lee'), 'L000')
    assert.equal(soundex('Gray'), soundex('Grey'))
    assert.notEqual(soundex('Smith'), soundex('Jones'))
    assert.equal(soundex("'-"), '')
  })
})
