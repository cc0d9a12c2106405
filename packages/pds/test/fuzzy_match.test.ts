import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { dateSimilarity, inRange, jaroWinkler, phoneDigits } from '../src/fuzzy_match.ts'

describe('fuzzy matching', () => {
  it('Jaro-Winkler gives the textbook values', () => {
    // Winkler's examples: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813.
    assert.equal(Math.round(jaroWinkler('MARTHA', 'MARHTA') * 1000) / 1000, 0.961)
    assert.equal(Math.round(jaroWinkler('DWAYNE', 'DUANE') * 1000) / 1000, 0.84)
    assert.equal(Math.round(jaroWinkler('DIXON', 'DICKSONX') * 1000) / 1000, 0.813)
    assert.equal(jaroWinkler('SMITH', 'SMITH'), 1)
    assert.equal(jaroWinkler('ABC', 'XYZ'), 0)
    assert.equal(jaroWinkler('', 'SMITH'), 0)
  })

  it('dates: equal 1, day and month transposed or one digit wrong 0.85, otherwise 0', () => {
    assert.equal(dateSimilarity('1990-03-05', '1990-03-05'), 1)
    assert.equal(dateSimilarity('1990-05-03', '1990-03-05'), 0.85)
    assert.equal(dateSimilarity('1991-03-05', '1990-03-05'), 0.85)
    assert.equal(dateSimilarity('1990-03-15', '1990-03-05'), 0.85)
    assert.equal(dateSimilarity('1991-04-05', '1990-03-05'), 0)
    assert.equal(dateSimilarity('1990-03-05', ''), 0)
  })

  it('a date range is inclusive, open at either end, and compares a dateTime by its day', () => {
    assert.equal(inRange('2019-02-28T10:00:00+00:00', { to: '2019-02-28' }), true)
    assert.equal(inRange('2019-03-01', { to: '2019-02-28' }), false)
    assert.equal(inRange('2019-03-01', { from: '2019-03-01' }), true)
    assert.equal(inRange(undefined, {}), false)
  })

  it('telephone numbers compare by their digits', () => {
    assert.equal(phoneDigits('01632 960 372'), '01632960372')
    assert.equal(phoneDigits('+44 (0)1632-960372'), '4401632960372')
  })
})
