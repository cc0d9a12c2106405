import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { createSecretBox } from '../../src/keys/index.ts'

const key = Buffer.alloc(32, 7)
const secret = 'JBSWY3DPEHPK3PXP totp seed ✓'

/** Replaces the character at `index` by another one of the base64url alphabet. */
function flip(text: string, index: number): string {
  const c = text[index]
  return text.slice(0, index) + (c === 'A' ? 'B' : 'A') + text.slice(index + 1)
}

function assertOpaqueFailure(action: () => unknown): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof TypeError)
    assert.ok(!error.message.includes(secret) && !error.message.includes(key.toString('base64url')))
    return true
  })
}

describe('secret box', () => {
  it('round-trips text with a fresh IV each time in the v1 compact format', () => {
    const box = createSecretBox(key)
    const a = box.seal(secret)
    const b = box.seal(secret)
    assert.match(a, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/)
    assert.notEqual(a, b)
    assert.ok(!a.includes(Buffer.from(secret).toString('base64url')))
    assert.equal(box.open(a), secret)
    assert.equal(box.open(box.seal('')), '')
  })

  it('binds associated data', () => {
    const box = createSecretBox(key)
    const sealed = box.seal(secret, 'kid-1')
    assert.equal(box.open(sealed, 'kid-1'), secret)
    assertOpaqueFailure(() => box.open(sealed, 'kid-2'))
    assertOpaqueFailure(() => box.open(sealed))
    assertOpaqueFailure(() => box.open(box.seal(secret), 'kid-1'))
  })

  it('detects tampering with any part', () => {
    const box = createSecretBox(key)
    const sealed = box.seal(secret)
    const [, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string]
    const ivAt = 3
    const ciphertextAt = 3 + iv.length + 1
    const tagAt = ciphertextAt + ciphertext.length + 1
    for (const index of [ivAt, ivAt + 5, ciphertextAt, ciphertextAt + ciphertext.length - 1, tagAt, tagAt + tag.length - 1]) {
      assertOpaqueFailure(() => box.open(flip(sealed, index)))
    }
    assertOpaqueFailure(() => box.open(sealed.slice(0, -2))) // truncated tag
    assertOpaqueFailure(() => box.open(`v2${sealed.slice(2)}`))
    assertOpaqueFailure(() => box.open(`${sealed}.x`))
    assertOpaqueFailure(() => box.open(sealed.replace('.', '.=')))
    assertOpaqueFailure(() => box.open('not sealed'))
  })

  it('fails under another key', () => {
    const sealed = createSecretBox(key).seal(secret)
    assertOpaqueFailure(() => createSecretBox(Buffer.alloc(32, 8)).open(sealed))
  })

  it('keeps its own copy of the key and refuses keys that are not 32 bytes', () => {
    const mutable = Buffer.from(key)
    const box = createSecretBox(mutable)
    const sealed = box.seal(secret)
    mutable.fill(0)
    assert.equal(box.open(sealed), secret)
    assert.throws(() => createSecretBox(Buffer.alloc(16)), TypeError)
    assert.throws(() => createSecretBox(Buffer.alloc(33)), TypeError)
  })
})
