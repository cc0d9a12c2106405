/**
 * The passcode lockout of a virtual card, as the provider runs it: the card's key opens only with
 * the provider's share, released for the right passcode; each wrong passcode is counted where it is
 * tried (the provider's check), the third locks the card at once, and asking for challenges counts
 * nothing. The counter lives in the provider's store, so it survives restarts and nothing done to
 * the card file resets it, and a copy of the file opens nothing offline.
 */
import assert from 'node:assert/strict'
import { X509Certificate as NodeX509, randomBytes, verify } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Store } from '@careid/ports'
import { attemptPasscode, issueVirtualCard, openCardAuthority, parseCardFile, VirtualCardReader, writeCardFile, type CardAuthority, type CardFile, type CardReader } from '../../src/index.ts'
import { passcodeCheckKeys } from '../../src/virtual/unlock_secrets.ts'
import { ada, bench, providerOf, type Bench } from '../support.ts'

const T = Date.UTC(2026, 10, 1, 9, 0, 0)
const PASSCODE = '604517'
const WRONG = '604518'

describe('passcode lockout', () => {
  let b: Bench
  let authority: CardAuthority
  let file: CardFile
  let cardPath: string
  let now = T
  before(async () => {
    b = await bench()
    authority = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: b.secrets, now: () => T - 1000 })
    file = (await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })).file
    mkdirSync(join(b.dir, 'reader'))
    cardPath = join(b.dir, 'reader', 'card.json')
    await writeCardFile(cardPath, file)
  })
  after(() => b.cleanup())

  /** One passcode use at the agent: a challenge, the passcode checked by the provider, and (opened) a signature that verifies. */
  async function usePasscode(store: Store, reader: CardReader, passcode: string, at: number) {
    now = at
    const info = await reader.present()
    assert.ok(info)
    const unlocked = await reader.unlock(passcode, await providerOf(store, authority, () => now).check(info.serial))
    if (unlocked.ok) {
      const data = randomBytes(32)
      const signature = await unlocked.card.sign(data)
      await unlocked.card.close()
      assert.equal(verify('sha256', data, { key: new NodeX509(info.certificate).publicKey, dsaEncoding: 'ieee-p1363' }, signature), true)
    }
    return unlocked
  }

  it('asking for challenges counts nothing: many for a serial leave the card unlocked and usable', async () => {
    const { cardChallenges } = providerOf(b.store, authority, () => T)
    for (let i = 0; i < 10; i++) assert.equal((await cardChallenges.issue(file.serial, T)).ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
    assert.equal((await b.store.cards.get(file.serial))?.locked_at, undefined)
    assert.equal((await usePasscode(b.store, new VirtualCardReader(cardPath), PASSCODE, T)).ok, true)
  })

  it('proofs made without the card file count nothing, whatever passcode they claim', async () => {
    const { cardChallenges, passcodes } = providerOf(b.store, authority, () => T)
    for (let i = 0; i < 5; i++) {
      const issued = await cardChallenges.issue(file.serial, T)
      assert.ok(issued.ok)
      const checked = await passcodes.check({ serial: file.serial, challenge: issued.challenge, card_proof: randomBytes(32).toString('base64url'), passcode_proof: randomBytes(32).toString('base64url') }, T)
      assert.deepStrictEqual(checked, { ok: false, error: 'invalid_card_proof' })
    }
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
  })

  it('a passcode proof is good for its challenge once: a replayed attempt is refused uncounted', async () => {
    const { cardChallenges, passcodes } = providerOf(b.store, authority, () => T)
    const issued = await cardChallenges.issue(file.serial, T)
    assert.ok(issued.ok)
    const proofs = (await attemptPasscode(file, PASSCODE)).proofs(issued.challenge)
    const first = await passcodes.check({ serial: file.serial, challenge: issued.challenge, ...proofs }, T)
    assert.equal(first.ok, true)
    assert.deepStrictEqual(await passcodes.check({ serial: file.serial, challenge: issued.challenge, ...proofs }, T), { ok: false, error: 'invalid_challenge' })
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
  })

  it('the right passcode keeps the count at 0; the third wrong one locks the card at once, recording when', async () => {
    const reader = new VirtualCardReader(cardPath)
    assert.equal((await usePasscode(b.store, reader, PASSCODE, T)).ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)

    assert.deepStrictEqual(await usePasscode(b.store, reader, WRONG, T + 1), { ok: false, reason: 'wrong_passcode', attemptsLeft: 2 })
    assert.deepStrictEqual(await usePasscode(b.store, reader, WRONG, T + 2), { ok: false, reason: 'wrong_passcode', attemptsLeft: 1 })
    assert.deepStrictEqual(await usePasscode(b.store, reader, WRONG, T + 3), { ok: false, reason: 'locked' })
    const card = await b.store.cards.get(file.serial)
    assert.equal(card?.failed_attempts, 3)
    assert.equal(card?.locked_at, T + 3, 'locked at the third wrong passcode, not at a later attempt')
    // Even the right passcode gets no challenge now.
    await assert.rejects(usePasscode(b.store, reader, PASSCODE, T + 4), { message: 'no challenge: card_locked' })
    await reader.close()
  })

  it('survives closing and reopening the store (a restart)', async () => {
    const store = await b.restart()
    authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: b.secrets })
    assert.deepStrictEqual(await authority.verifyCardCertificate(file.certificate, T + 10), { ok: false, reason: 'locked' })
    assert.deepStrictEqual(await store.cards.beginPasscodeAttempt(file.serial, T + 10), { outcome: 'locked' })
  })

  it('copying the card file, or editing it, resets nothing', async () => {
    const copy = join(b.dir, 'copy.json')
    copyFileSync(cardPath, copy)
    await assert.rejects(usePasscode(b.store, new VirtualCardReader(copy), PASSCODE, T + 11), { message: 'no challenge: card_locked' })

    // An edited file (reformatted, and with an invented counter a card might once have kept).
    const edited = join(b.dir, 'edited.json')
    writeFileSync(edited, JSON.stringify({ ...JSON.parse(readFileSync(cardPath, 'utf8')), failed_attempts: 0 }, null, 4))
    await assert.rejects(usePasscode(b.store, new VirtualCardReader(edited), PASSCODE, T + 12), { message: 'no challenge: card_locked' })

    // A file claiming another serial is another card: one the registry does not know.
    const forged = join(b.dir, 'forged.json')
    writeFileSync(forged, JSON.stringify({ ...file, serial: '4'.repeat(32) }))
    await assert.rejects(usePasscode(b.store, new VirtualCardReader(forged), PASSCODE, T + 13), { message: 'no challenge: unknown_card' })
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 3)
  })

  it("the Registration Authority's unlock lets the holder in again; the right passcode on the third try opens the card", async () => {
    assert.equal(await b.store.cards.unlock(file.serial, T + 20), true)
    const reader = new VirtualCardReader(cardPath)
    assert.equal((await usePasscode(b.store, reader, PASSCODE, T + 21)).ok, true)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 0)
    // Two wrong, then the right passcode on the third try: in, and the count back at 0.
    await usePasscode(b.store, reader, WRONG, T + 22)
    await usePasscode(b.store, reader, WRONG, T + 23)
    assert.equal((await b.store.cards.get(file.serial))?.failed_attempts, 2)
    assert.equal((await usePasscode(b.store, reader, PASSCODE, T + 24)).ok, true)
    const card = await b.store.cards.get(file.serial)
    assert.equal(card?.failed_attempts, 0)
    assert.equal(card?.locked_at, undefined)
    await reader.close()
  })

  it('a copied card file opens nothing offline: without the provider share no passcode, even the right one, yields the key', async () => {
    const copied = parseCardFile(readFileSync(cardPath, 'utf8'))
    assert.ok(copied)
    // The right passcode with any share but the provider's: no key; and nothing tells it from a wrong passcode.
    const right = await attemptPasscode(copied, PASSCODE)
    const wrong = await attemptPasscode(copied, WRONG)
    for (let i = 0; i < 50; i++) {
      const guess = randomBytes(32).toString('base64url')
      assert.equal(right.open(guess), undefined)
      assert.equal(wrong.open(guess), undefined)
    }
    assert.equal(right.open(''), undefined)
    // Nothing in the file checks a passcode: every field but the key's own is public or random.
    assert.deepStrictEqual(Object.keys(copied).sort(), ['access_key', 'authority_certificate', 'certificate', 'format', 'key', 'serial', 'uid', 'version'])
    assert.deepStrictEqual(Object.keys(copied.key).sort(), ['N', 'cipher', 'ciphertext', 'iv', 'kdf', 'p', 'r', 'salt', 'tag'])
    // The provider's share (sealed in the registry under the key-encryption key) is the missing half.
    const record = await b.store.cards.get(file.serial)
    assert.ok(record?.unlock_secrets_sealed)
    const { share } = passcodeCheckKeys(b.secrets, file.serial, record.unlock_secrets_sealed, 'any')
    assert.ok(right.open(share) !== undefined)
    assert.equal(wrong.open(share), undefined)
    // The sealed secrets open under this card's serial only.
    assert.throws(() => passcodeCheckKeys(b.secrets, '4'.repeat(32), record.unlock_secrets_sealed as string, 'any'))
  })
})
