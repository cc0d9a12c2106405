/**
 * `careid cards issue|list|unlock|revoke` as a Registration Authority runs them, on a data directory:
 * what they print, what they refuse (exit code 2, one message, nothing changed), and that the card
 * they issue opens with its passcode (checked and counted by the provider) and is locked and
 * unlocked through the provider's counter.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { openCardAuthority, VirtualCardReader, type UnlockResult } from '@careid/cards'
import { createSecretBox } from '@careid/oidc'
import { loadKeyEncryptionKey } from '@careid/store/key-encryption-key'
import type { Json } from '@careid/ports'
import { ada, ben, providerOf } from '../../packages/cards/test/support.ts'
import { adminWorkspace, ok, refused, runCareid, withStore } from '../support/cli.ts'

const { dir, dataDir, careid } = adminWorkspace('careid-cards-cli-')

/** Unlocks the card file at `path` as the agent would, the provider (this data directory's) checking the passcode. */
function unlock(path: string, passcode: string, now = Date.now()): Promise<UnlockResult> {
  return withStore(dataDir, async (store) => {
    const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: createSecretBox(loadKeyEncryptionKey({ dataDir })) })
    const reader = new VirtualCardReader(path)
    try {
      const info = await reader.present()
      assert.ok(info, `a card at ${path}`)
      const unlocked = await reader.unlock(passcode, await providerOf(store, authority, () => now).check(info.serial))
      if (unlocked.ok) await unlocked.card.close()
      return unlocked
    } finally {
      await reader.close()
    }
  })
}




describe('careid cards', { concurrency: 1 }, () => {
  let adaSerial = ''
  let adaPasscode = ''
  const adaFile = join(dir, 'ada.json')

  before(async () => {
    // The workforce `careid start` would have seeded.
    await withStore(dataDir, async (store) => {
      for (const person of [ada, ben]) await store.people.put(person.uid, person.username, person as unknown as Json)
    })
  })

  it('issue: writes a card file (mode 0600) and prints a generated passcode once', async () => {
    const stdout = ok(await careid('cards', 'issue', ada.uid, '--out', adaFile))
    const lines = stdout.split('\n')
    const issued = /^Issued card ([0-9a-f]{32}) to (\d{12}), valid until (\S+)\.$/.exec(lines[0] ?? '')
    assert.ok(issued, stdout)
    adaSerial = issued[1] ?? ''
    assert.equal(issued[2], ada.uid)
    assert.equal(lines[1], `Card file: ${adaFile}`)
    const passcode = /^Passcode \(shown once; give it to the holder only\): (\d{6})$/.exec(lines[2] ?? '')
    assert.ok(passcode, stdout)
    adaPasscode = passcode[1] ?? ''
    assert.equal(lines.length, 4)
    assert.equal(statSync(adaFile).mode & 0o777, 0o600)
    // The card opens with that passcode, and with no other.
    const reader = new VirtualCardReader(adaFile)
    assert.equal((await reader.present())?.serial, adaSerial)
    await reader.close()
    assert.equal((await unlock(adaFile, adaPasscode)).ok, true)
    const wrong = String((Number(adaPasscode) + 1) % 1_000_000).padStart(6, '0')
    assert.deepStrictEqual(await unlock(adaFile, wrong), { ok: false, reason: 'wrong_passcode', attemptsLeft: 2 })
    assert.equal((await unlock(adaFile, adaPasscode)).ok, true)
    await withStore(dataDir, async (store) => {
      assert.equal((await store.cards.get(adaSerial))?.status, 'active')
      // The audit trail names the card, never its passcode.
      const [event] = await store.audit.recent(1)
      assert.deepStrictEqual({ type: event?.type, subject: event?.subject, detail: event?.detail }, { type: 'card.issued', subject: ada.uid, detail: { serial: adaSerial, kind: 'virtual' } })
      assert.doesNotMatch(JSON.stringify(await store.audit.recent(50)), new RegExp(adaPasscode))
    })
  })

  it('issue with a chosen passcode prints no passcode', async () => {
    const file = join(dir, 'ben.json')
    const stdout = ok(await careid('cards', 'issue', ben.uid, '--passcode', '90817263', '--out', file, '--json'))
    const result = JSON.parse(stdout) as { serial: string; uid: string; file: string; passcode?: string }
    assert.equal(result.uid, ben.uid)
    assert.equal(result.file, file)
    assert.equal(result.passcode, undefined)
    assert.doesNotMatch(stdout, /90817263/)
    assert.equal(Object.hasOwn(result, 'unlock_secrets_sealed'), false, 'the provider\'s sealed secrets are not printed')
    assert.equal((await unlock(file, '90817263')).ok, true)
  })

  it('issue refuses bad passcodes, unknown people, a second active card and an existing file, changing nothing', async () => {
    const count = () => withStore(dataDir, async (store) => (await store.cards.list()).length)
    const before = await count()
    const file = join(dir, 'refused.json')
    for (const passcode of ['12345', '123456789', '12345a', '']) {
      refused(await careid('cards', 'issue', ben.uid, '--passcode', passcode, '--out', file), /^careid: a card passcode is 6 to 8 digits\n$/)
    }
    refused(await careid('cards', 'issue', '999999999999', '--out', file), /^careid: no person has the UID 999999999999\n$/)
    refused(await careid('cards', 'issue', 'ada', '--out', file), /^careid: a UID is 12 digits\n$/)
    refused(await careid('cards', 'issue', ada.uid, '--out', file), new RegExp(`^careid: ${ada.uid} already holds active card ${adaSerial}, valid until `))
    writeFileSync(file, 'precious')
    refused(await careid('cards', 'issue', ada.uid, '--out', file), /^careid: the card file .* exists already; give another --out\n$/)
    assert.equal(readFileSync(file, 'utf8'), 'precious')
    rmSync(file)
    assert.equal(await count(), before)
    assert.equal(existsSync(file), false)
  })

  it('list shows every card, or one person\'s', async () => {
    const all = ok(await careid('cards', 'list')).trim().split('\n')
    assert.equal(all.length, 2)
    assert.match(all[0] ?? '', new RegExp(`^${adaSerial}  ${ada.uid}  virtual  valid until \\S+  active, 0 unproven attempt\\(s\\)$`))
    const mine = ok(await careid('cards', 'list', '--uid', ada.uid)).trim().split('\n')
    assert.deepStrictEqual(mine, [all[0]])
    assert.equal(ok(await careid('cards', 'list', '--uid', '999999999999')), 'No cards for 999999999999.\n')
  })

  it('list shows a card LOCKED, with the time of the third wrong passcode, as soon as that passcode was tried', async () => {
    const wrong = String((Number(adaPasscode) + 7) % 1_000_000).padStart(6, '0')
    const at = Date.UTC(2026, 11, 1, 10, 0, 0)
    // The right passcode on the third try still opens the card.
    for (const [i, left] of [[0, 2], [1, 1]] as const) assert.deepStrictEqual(await unlock(adaFile, wrong, at + i), { ok: false, reason: 'wrong_passcode', attemptsLeft: left })
    assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), / active, 2 unproven attempt\(s\)\n$/)
    assert.equal((await unlock(adaFile, adaPasscode, at + 2)).ok, true)
    assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), / active, 0 unproven attempt\(s\)\n$/)
    // Three wrong: the third locks it, then and there.
    for (const [i, left] of [[3, 2], [4, 1]] as const) assert.deepStrictEqual(await unlock(adaFile, wrong, at + i), { ok: false, reason: 'wrong_passcode', attemptsLeft: left })
    assert.deepStrictEqual(await unlock(adaFile, wrong, at + 5), { ok: false, reason: 'locked' })
    assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), new RegExp(` LOCKED ${new Date(at + 5).toISOString()}\n$`))
  })

  it('agent insert refuses a card file of the older format, saying to reissue the card', async () => {
    const older = join(dir, 'older.json')
    const current = JSON.parse(readFileSync(adaFile, 'utf8')) as Record<string, unknown>
    const { access_key: _accessKey, ...rest } = current
    writeFileSync(older, JSON.stringify({ ...rest, version: 1 }))
    const agentDir = join(dir, 'agent')
    refused(
      await runCareid(['agent', 'insert', older, '--agent-dir', agentDir]),
      new RegExp(
        `^careid: card ${adaSerial} is in an older card file format, which could be opened without the sign-in service; it can no longer be used\\. ` +
          `Ask your Registration Authority to reissue it: careid cards revoke ${adaSerial}, then careid cards issue ${ada.uid}\\n$`,
      ),
    )
    assert.equal(existsSync(join(agentDir, 'reader', 'card.json')), false)
    assert.equal(ok(await runCareid(['agent', 'insert', adaFile, '--agent-dir', agentDir])), `Card inserted in ${join(agentDir, 'reader', 'card.json')}.\n`)
  })

  it('unlock: a card locked by three wrong passcodes is usable again', async () => {
    assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), / LOCKED \S+\n$/)
    assert.equal(ok(await careid('cards', 'unlock', adaSerial)), `Card ${adaSerial} unlocked; its holder has 3 passcode attempts again.\n`)
    await withStore(dataDir, async (store) => {
      const card = await store.cards.get(adaSerial)
      assert.equal(card?.failed_attempts, 0)
      assert.equal(card?.locked_at, undefined)
      const secrets = createSecretBox(loadKeyEncryptionKey({ dataDir }))
      const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets })
      assert.deepStrictEqual(await authority.verifyCardCertificate(card?.certificate ?? '', Date.now()), { ok: true, card })
    })
    assert.equal((await unlock(adaFile, adaPasscode)).ok, true)
    refused(await careid('cards', 'unlock', 'ffff'), /^careid: no card ffff\n$/)
  })

  it('revoke: the card is refused from then on, and cannot be unlocked', async () => {
    assert.equal(ok(await careid('cards', 'revoke', adaSerial)), `Card ${adaSerial} revoked: it signs nobody in from now on.\n`)
    assert.match(ok(await careid('cards', 'revoke', adaSerial)), new RegExp(`^Card ${adaSerial} was already revoked \\(`))
    refused(await careid('cards', 'unlock', adaSerial), new RegExp(`^careid: card ${adaSerial} is revoked; issue a new card instead\\n$`))
    assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), / revoked \S+\n$/)
    await withStore(dataDir, async (store) => {
      const secrets = createSecretBox(loadKeyEncryptionKey({ dataDir }))
      const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets })
      const card = await store.cards.get(adaSerial)
      assert.deepStrictEqual(await authority.verifyCardCertificate(card?.certificate ?? '', Date.now()), { ok: false, reason: 'revoked' })
    })
    refused(await careid('cards', 'revoke', 'ffff'), /^careid: no card ffff\n$/)
    // Revoked, Ada may be issued a new card.
    ok(await careid('cards', 'issue', ada.uid, '--passcode', '123456', '--out', join(dir, 'ada-2.json')))
  })
})
