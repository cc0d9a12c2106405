import { strict as assert } from 'node:assert'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { keyEncryptionKeyFile, loadKeyEncryptionKey } from '../src/key_encryption_key.ts'

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
