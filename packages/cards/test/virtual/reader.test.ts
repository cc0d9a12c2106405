import assert from 'node:assert/strict'
import { X509Certificate as NodeX509, verify } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { compactVerify, importX509 } from 'jose'
import { issueVirtualCard, openCardAuthority, parseCardFile, readCardFile, VirtualCardReader, writeCardFile, type CardAuthority, type CardFile, type PasscodeCheck } from '../../src/index.ts'
import { ada, ben, bench, providerOf, type Bench } from '../support.ts'

const T = Date.UTC(2026, 10, 1, 9, 0, 0)
const PASSCODE = '48291637'
const WRONG = '48291638'

/** Subscribes to removal, counting calls. */
function removal(reader: VirtualCardReader): { fired: Promise<void>; count: () => number; unsubscribe: () => void } {
  let count = 0
  let resolve!: () => void
  const fired = new Promise<void>((r) => (resolve = r))
  const unsubscribe = reader.onRemoved(() => {
    count++
    resolve()
  })
  return { fired, count: () => count, unsubscribe }
}

/** For unlocks that must end before the provider is asked. */
const neverAsked: PasscodeCheck = {
  challenge: 'unused',
  prove: () => Promise.reject(new Error('the provider was asked')),
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Encodes a compact JWS the way the agent does: the card signs `header.payload`. */
function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

describe('virtual card reader', () => {
  let b: Bench
  let authority: CardAuthority
  let adaFile: CardFile
  let readerDir: string
  let slot: string

  before(async () => {
    b = await bench()
    authority = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: b.secrets, now: () => T - 1000 })
    adaFile = (await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })).file
    readerDir = join(b.dir, 'agent', 'reader')
    mkdirSync(readerDir, { recursive: true })
    slot = join(readerDir, 'card.json')
  })
  after(() => b.cleanup())

  /** The provider's check of one attempt on `serial` (a fresh challenge each time). */
  const check = (serial = adaFile.serial) => providerOf(b.store, authority).check(serial)

  function insert(file: CardFile): void {
    rmSync(slot, { force: true })
    writeFileSync(slot, JSON.stringify(file))
  }

  it('writes a card file readable by its owner only, with the key sealed (scrypt + provider share + AES-256-GCM)', async () => {
    const path = join(b.dir, 'ada-card.json')
    await writeCardFile(path, adaFile)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    const text = readFileSync(path, 'utf8')
    assert.deepStrictEqual(parseCardFile(text), adaFile)
    assert.equal(adaFile.version, 2)
    assert.equal(Buffer.from(adaFile.access_key, 'base64url').length, 32)
    assert.equal(adaFile.key.kdf, 'scrypt')
    assert.equal(adaFile.key.N, 2 ** 15)
    assert.equal(adaFile.key.cipher, 'aes-256-gcm')
    assert.equal(adaFile.authority_certificate, authority.certificate)
    // No private key in the clear: a PKCS#8 P-256 key in base64 starts "MIGHAgEA".
    assert.doesNotMatch(text, /MIGHAgEA|PRIVATE KEY/)
    await assert.rejects(writeCardFile(path, adaFile), { code: 'EEXIST' })
  })

  it('with no card: nothing present, unlock says no_card', async () => {
    rmSync(slot, { force: true })
    const reader = new VirtualCardReader(slot)
    assert.equal(await reader.present(), undefined)
    assert.deepStrictEqual(await reader.unlock(PASSCODE, neverAsked), { ok: false, reason: 'no_card' })
    // A file that is not a card is no card.
    writeFileSync(slot, '{"format":"something else"}')
    assert.equal(await reader.present(), undefined)
    assert.deepStrictEqual(await reader.unlock(PASSCODE, neverAsked), { ok: false, reason: 'no_card' })
    // Nor is one edited to make scrypt take a gigabyte (N = 2^20).
    writeFileSync(slot, JSON.stringify({ ...adaFile, key: { ...adaFile.key, N: 2 ** 20 } }))
    assert.equal(await reader.present(), undefined)
    assert.deepStrictEqual(await reader.unlock(PASSCODE, neverAsked), { ok: false, reason: 'no_card' })
    await reader.close()
  })

  it('opens with the passcode and signs ES256 that verifies against the card certificate', async () => {
    insert(adaFile)
    const reader = new VirtualCardReader(slot)
    const info = { serial: adaFile.serial, uid: ada.uid, kind: 'virtual', certificate: adaFile.certificate }
    assert.deepStrictEqual(await reader.present(), info)
    const result = await reader.unlock(PASSCODE, await check())
    assert.equal(result.ok, true)
    assert.ok(result.ok)
    assert.deepStrictEqual(result.card.info, info)

    const data = Buffer.from('challenge-0S6_WzA2Mj')
    const signature = await result.card.sign(data)
    assert.equal(signature.length, 64)
    const publicKey = new NodeX509(adaFile.certificate).publicKey
    assert.equal(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), true)
    assert.equal(verify('sha256', Buffer.from('other'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), false)

    // The agent's use: a compact JWS whose signature is the card's.
    const signingInput = `${base64url({ alg: 'ES256' })}.${base64url({ challenge: 'c1' })}`
    const jwsSignature = Buffer.from(await result.card.sign(Buffer.from(signingInput))).toString('base64url')
    const verified = await compactVerify(`${signingInput}.${jwsSignature}`, await importX509(adaFile.certificate, 'ES256'))
    assert.deepStrictEqual(JSON.parse(Buffer.from(verified.payload).toString()), { challenge: 'c1' })

    await result.card.close()
    await assert.rejects(result.card.sign(data), { message: 'the card was closed' })
    await reader.close()
  })

  it('a wrong passcode is counted by the provider, a malformed one not even sent; the card file is unchanged', async () => {
    insert(adaFile)
    const before = readFileSync(slot)
    const mtime = statSync(slot).mtimeMs
    const reader = new VirtualCardReader(slot)
    for (const passcode of ['12345', '123456789', 'abcdef', '']) {
      assert.deepStrictEqual(await reader.unlock(passcode, neverAsked), { ok: false, reason: 'wrong_passcode' })
    }
    assert.deepStrictEqual(await reader.unlock(WRONG, await check()), { ok: false, reason: 'wrong_passcode', attemptsLeft: 2 })
    assert.deepStrictEqual(await reader.unlock('000000', await check()), { ok: false, reason: 'wrong_passcode', attemptsLeft: 1 })
    assert.deepStrictEqual(readFileSync(slot), before)
    assert.equal(statSync(slot).mtimeMs, mtime)
    assert.equal((await reader.unlock(PASSCODE, await check())).ok, true)
    assert.equal((await b.store.cards.get(adaFile.serial))?.failed_attempts, 0)
    await reader.close()
  })

  it('a key moved into another card\'s file does not open', async () => {
    const { file: benFile } = await issueVirtualCard({ authority, uid: ben.uid, passcode: PASSCODE, now: T })
    // Ben's file with Ada's sealed key: the serial is the associated data, so GCM refuses it.
    insert({ ...benFile, key: adaFile.key })
    const reader = new VirtualCardReader(slot)
    assert.deepStrictEqual(await reader.unlock(PASSCODE, await check(benFile.serial)), { ok: false, reason: 'wrong_passcode', attemptsLeft: 2 })
    await reader.close()
    await b.store.cards.revoke(benFile.serial, T)
  })

  it('refuses a card file of the older format (key under the passcode alone), saying to reissue the card', async () => {
    const older = {
      format: 'careid-virtual-card',
      version: 1,
      serial: adaFile.serial,
      uid: ada.uid,
      certificate: adaFile.certificate,
      authority_certificate: adaFile.authority_certificate,
      key: { ...adaFile.key },
    }
    assert.deepStrictEqual(readCardFile(JSON.stringify(older)), {
      ok: false,
      reason: 'older_format',
      message:
        `card ${adaFile.serial} is in an older card file format, which could be opened without the sign-in service; it can no longer be used. ` +
        `Ask your Registration Authority to reissue it: careid cards revoke ${adaFile.serial}, then careid cards issue ${ada.uid}`,
    })
    assert.deepStrictEqual(readCardFile('{"format":"something else"}'), { ok: false, reason: 'not_a_card' })
    writeFileSync(slot, JSON.stringify(older))
    const reader = new VirtualCardReader(slot)
    assert.equal(await reader.present(), undefined)
    assert.deepStrictEqual(await reader.unlock(PASSCODE, neverAsked), { ok: false, reason: 'no_card' })
    await reader.close()
  })

  it('tells of removal once, when the card file goes; an unlocked card then stops signing', async () => {
    insert(adaFile)
    const reader = new VirtualCardReader(slot)
    const unlocked = await reader.unlock(PASSCODE, await check())
    assert.ok(unlocked.ok)
    const watched = removal(reader)
    const unsubscribed = removal(reader)
    unsubscribed.unsubscribe()
    rmSync(slot)
    await within(watched.fired, 10_000, 'removal')
    // Still once, after more checks would have run.
    await new Promise((r) => setTimeout(r, 1500))
    assert.equal(watched.count(), 1)
    assert.equal(unsubscribed.count(), 0)
    await assert.rejects(unlocked.card.sign(Buffer.from('x')), { message: 'the card is no longer in the reader' })
    await reader.close()
  })

  it('another card in place of the first counts as removal', async () => {
    insert(adaFile)
    const reader = new VirtualCardReader(slot)
    const watched = removal(reader)
    const { file: benFile } = await issueVirtualCard({ authority, uid: ben.uid, passcode: PASSCODE, now: T })
    const staged = join(readerDir, 'staged.json')
    writeFileSync(staged, JSON.stringify(benFile))
    renameSync(staged, slot)
    await within(watched.fired, 10_000, 'removal on swap')
    await reader.close()
    await b.store.cards.revoke(benFile.serial, T)
  })

  it('with no card at subscription: the listener is told at once', async () => {
    rmSync(slot, { force: true })
    const reader = new VirtualCardReader(slot)
    await within(removal(reader).fired, 5000, 'removal of an absent card')
    await reader.close()
  })

  it("removal of the reader's whole directory is noticed", async () => {
    const elsewhere = join(b.dir, 'gone', 'card.json')
    mkdirSync(join(b.dir, 'gone'))
    writeFileSync(elsewhere, JSON.stringify(adaFile))
    const reader = new VirtualCardReader(elsewhere)
    const watched = removal(reader)
    // The whole directory goes, watch and all.
    rmSync(join(b.dir, 'gone'), { recursive: true })
    await within(watched.fired, 10_000, 'removal with the directory')
    await reader.close()
  })
})
