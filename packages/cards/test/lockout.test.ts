/**
 * The passcode lockout as the provider runs it: every passcode use begins with an attempt counted in
 * the store, and only a valid card signature proves it. The counter lives in the provider's store,
 * so it survives restarts and nothing done to the card file resets it.
 */
import assert from 'node:assert/strict'
import { X509Certificate as NodeX509, randomBytes, verify } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Store } from '@careid/store'
import { issueVirtualCard, openCardAuthority, VirtualCardReader, writeCardFile, type CardFile, type CardReader } from '../src/index.ts'
import { ada, bench, type Bench } from './support.ts'

const T = Date.UTC(2026, 10, 1, 9, 0, 0)
const PASSCODE = '604517'
const WRONG = '604518'

/**
 * One passcode use, the provider's way round: begin (counted), then the card must sign the
 * challenge; a valid signature proves the passcode and resets the count.
 */
async function usePasscode(store: Store, reader: CardReader, passcode: string, now: number) {
  const info = await reader.present()
  assert.ok(info)
  const attempt = await store.cards.beginPasscodeAttempt(info.serial, now)
  if (attempt.outcome !== 'begun') return { attempt, unlocked: undefined }
  const unlocked = await reader.unlock(passcode)
  if (!unlocked.ok) return { attempt, unlocked }
  const challenge = randomBytes(32)
  const signature = await unlocked.card.sign(challenge)
  await unlocked.card.close()
  if (verify('sha256', challenge, { key: new NodeX509(info.certificate).publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    assert.equal(await store.cards.passcodeProven(info.serial), true)
  }
  return { attempt, unlocked }
}

describe('passcode lockout', () => {
  let b: Bench
  let file: CardFile
  let cardPath: string
  before(async () => {
    b = await bench()
    const authority = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: b.secrets, now: () => T - 1000 })
    file = (await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })).file
    mkdirSync(join(b.dir, 'reader'))
    cardPath = join(b.dir, 'reader', 'card.json')
    await writeCardFile(cardPath, file)
  })
  after(() => b.cleanup())

  it('the right passcode keeps the count at 0; three wrong ones lock the card', async () => {
    const reader = new VirtualCardReader(cardPath)
    const right = await usePasscode(b.store, reader, PASSCODE, T)
    assert.equal(right.unlocked?.ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)

    const first = await usePasscode(b.store, reader, WRONG, T + 1)
    assert.deepStrictEqual(first.unlocked, { ok: false, reason: 'wrong_passcode' })
    assert.equal(first.attempt.outcome === 'begun' && first.attempt.attemptsLeft, 2)
    const second = await usePasscode(b.store, reader, WRONG, T + 2)
    assert.equal(second.attempt.outcome === 'begun' && second.attempt.attemptsLeft, 1)
    const third = await usePasscode(b.store, reader, WRONG, T + 3)
    assert.equal(third.attempt.outcome === 'begun' && third.attempt.attemptsLeft, 0)
    // Three wrong passcodes: even the right one gets no attempt now, and the card is locked from then.
    const afterLock = await usePasscode(b.store, reader, PASSCODE, T + 4)
    assert.deepStrictEqual(afterLock, { attempt: { outcome: 'locked' }, unlocked: undefined })
    const card = await b.store.cards.get(file.serial)
    assert.equal(card?.failed_attempts, 3)
    assert.equal(card?.locked_at, T + 4)
    await reader.close()
  })

  it('survives closing and reopening the store (a restart)', async () => {
    const store = await b.restart()
    const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: b.secrets })
    assert.deepStrictEqual(await authority.verifyCardCertificate(file.certificate, T + 10), { ok: false, reason: 'locked' })
    assert.deepStrictEqual(await store.cards.beginPasscodeAttempt(file.serial, T + 10), { outcome: 'locked' })
  })

  it('copying the card file, or editing it, resets nothing', async () => {
    const copy = join(b.dir, 'copy.json')
    copyFileSync(cardPath, copy)
    const copied = new VirtualCardReader(copy)
    assert.deepStrictEqual(await usePasscode(b.store, copied, PASSCODE, T + 11), { attempt: { outcome: 'locked' }, unlocked: undefined })

    // An edited file (reformatted, and with an invented counter a card might once have kept).
    const edited = join(b.dir, 'edited.json')
    writeFileSync(edited, JSON.stringify({ ...JSON.parse(readFileSync(cardPath, 'utf8')), failed_attempts: 0 }, null, 4))
    const reader = new VirtualCardReader(edited)
    assert.deepStrictEqual(await usePasscode(b.store, reader, PASSCODE, T + 12), { attempt: { outcome: 'locked' }, unlocked: undefined })

    // A file claiming another serial is another card: one the registry does not know.
    const forged = join(b.dir, 'forged.json')
    writeFileSync(forged, JSON.stringify({ ...file, serial: '4'.repeat(32) }))
    const forgedReader = new VirtualCardReader(forged)
    assert.deepStrictEqual(await b.store.cards.beginPasscodeAttempt('4'.repeat(32), T + 13), { outcome: 'unknown' })
    // And its sealed key no longer opens (the serial is the key's associated data).
    assert.deepStrictEqual(await forgedReader.unlock(PASSCODE), { ok: false, reason: 'wrong_passcode' })
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 3)
  })

  it('the Registration Authority\'s unlock lets the holder in again', async () => {
    assert.equal(await b.store.cards.unlock(file.serial, T + 20), true)
    const reader = new VirtualCardReader(cardPath)
    const used = await usePasscode(b.store, reader, PASSCODE, T + 21)
    assert.equal(used.attempt.outcome, 'begun')
    assert.equal(used.unlocked?.ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
    // Two wrong, then the right passcode on the third try: in, and the count back at 0.
    await usePasscode(b.store, reader, WRONG, T + 22)
    await usePasscode(b.store, reader, WRONG, T + 23)
    const third = await usePasscode(b.store, reader, PASSCODE, T + 24)
    assert.equal(third.attempt.outcome === 'begun' && third.attempt.attemptsLeft, 0)
    assert.equal(third.unlocked?.ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
    await reader.close()
  })
})
