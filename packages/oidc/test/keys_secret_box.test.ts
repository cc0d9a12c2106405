import { strict as assert } from 'node:assert'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { keyEncryptionKeyFile, loadKeyEncryptionKey } from '@careid/store/key-encryption-key'
import { createSecretBox } from '../src/keys/index.ts'

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

describe('loadKeyEncryptionKey', () => {
  const dirs: string[] = []
  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'careid-kek-'))
    dirs.push(dir)
    return dir
  }
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('creates a 0600 file of 32 random bytes, then reuses it', () => {
    const dir = join(dataDir(), 'nested')
    const first = loadKeyEncryptionKey({ dataDir: dir })
    const path = join(dir, keyEncryptionKeyFile)
    assert.equal(first.length, 32)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.deepEqual(readFileSync(path), first)
    assert.deepEqual(loadKeyEncryptionKey({ dataDir: dir }), first)
    assert.notDeepEqual(loadKeyEncryptionKey({ dataDir: dataDir() }), first)
  })

  it('refuses a key file of the wrong size', () => {
    const dir = dataDir()
    writeFileSync(join(dir, keyEncryptionKeyFile), Buffer.alloc(31))
    assert.throws(() => loadKeyEncryptionKey({ dataDir: dir }), /must hold exactly 32 bytes but holds 31/)
  })

  it('takes the key from the environment in base64 or base64url, and then writes no file', () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i))
    const dir = dataDir()
    for (const value of [
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=$/, ''),
      bytes.toString('base64url'),
      `${bytes.toString('base64')}\n`,
    ]) {
      assert.deepEqual(loadKeyEncryptionKey({ envValue: value, dataDir: dir }), bytes)
    }
    assert.throws(() => statSync(join(dir, keyEncryptionKeyFile)), { code: 'ENOENT' })
  })

  it('rejects malformed environment values without echoing them', () => {
    const good = Buffer.alloc(32, 9).toString('base64url')
    const bad = [
      '',
      Buffer.alloc(31, 9).toString('base64'),
      Buffer.alloc(33, 9).toString('base64'),
      `${good.slice(0, -1)}*`,
      // 43rd character with non-zero spare bits: decodes, but is not what anyone generated.
      `${good.slice(0, -1)}B`,
      Buffer.alloc(32, 9).toString('hex'),
    ]
    for (const value of bad) {
      assert.throws(
        () => loadKeyEncryptionKey({ envValue: value, dataDir: dataDir() }),
        (error: unknown) => error instanceof TypeError && /32 bytes in base64 or base64url/.test(error.message) && (value === '' || !error.message.includes(value)),
      )
    }
  })
})
