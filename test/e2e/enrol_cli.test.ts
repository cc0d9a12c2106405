/**
 * `careid people enrol` as a Registration Authority runs it: a one-time enrolment code printed once
 * (stored only hashed, with its audit entry), its expiry and where to use it; a new code replaces an
 * unused one; a method without an enroller, an unknown person and a lifetime out of range are
 * refused with exit code 2, storing nothing.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { demoWorkforce } from '@careid/domain'
import { ENROLMENT_CODE_KIND, sha256 } from '@careid/oidc'
import type { Json, Store } from '@careid/ports'
import { adminWorkspace, ok, refused, withStore } from '../support/cli.ts'

const worker = demoWorkforce[1] as (typeof demoWorkforce)[number]
const { dataDir, careid } = adminWorkspace('careid-enrol-cli-')

async function codesOf(store: Store, uid: string) {
  return (await store.credentials.listByPerson(uid)).filter((c) => c.kind === ENROLMENT_CODE_KIND)
}

function printedCode(out: string): string {
  const code = /^ {2}([0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){4})$/m.exec(out)?.[1]
  assert.ok(code !== undefined, `a code in:\n${out}`)
  return code
}

describe('careid people enrol', { concurrency: 1 }, () => {
  before(async () => {
    await withStore(dataDir, async (store) => store.people.put(worker.uid, worker.username, worker as unknown as Json))
  })

  it('prints a one-time code, its expiry (72 hours) and where to use it; stores only its hash, with the audit entry', async () => {
    const started = Date.now()
    const out = ok(await careid('people', 'enrol', worker.username, '--method', 'totp'))
    assert.match(out, new RegExp(`^Enrolment code for ${worker.username.replaceAll('.', '\\.')} \\(${worker.display_name}\\) to set up: totp$`, 'm'))
    const code = printedCode(out)
    const until = /^It works once, until (\S+)\. Give it to /m.exec(out)?.[1]
    const expiresAt = Date.parse(until ?? '')
    assert.ok(expiresAt >= started + 72 * 3_600_000 - 1_000 && expiresAt <= Date.now() + 72 * 3_600_000, until)
    assert.match(out, /^They enter their username and this code at http:\/\/\S+\/account\/enrol$/m)
    await withStore(dataDir, async (store) => {
      const [stored] = await codesOf(store, worker.uid)
      assert.equal(stored?.id, `${ENROLMENT_CODE_KIND}:${sha256(code.replaceAll('-', ''))}`)
      assert.ok(!JSON.stringify(stored).includes(code.replaceAll('-', '')))
      const [event] = await store.audit.recent(1)
      assert.equal(event?.type, 'enrolment_code.issued')
      assert.match(event?.actor ?? '', /^cli:/)
      assert.equal(event?.subject, worker.uid)
      assert.deepEqual(event?.detail, { method: 'totp', expires_at: stored?.state.expires_at as number })
    })
  })

  it('a new code, here for 2 hours, replaces the unused one', async () => {
    const out = ok(await careid('people', 'enrol', worker.uid, '--method', 'totp', '--hours', '2'))
    const code = printedCode(out)
    await withStore(dataDir, async (store) => {
      const codes = await codesOf(store, worker.uid)
      assert.deepEqual(codes.map((c) => c.id), [`${ENROLMENT_CODE_KIND}:${sha256(code.replaceAll('-', ''))}`])
      const expiresAt = codes[0]?.state.expires_at as number
      assert.ok(Math.abs(expiresAt - (Date.now() + 2 * 3_600_000)) < 60_000)
      const types = (await store.audit.recent(2)).map((e) => e.type)
      assert.deepEqual(types, ['enrolment_code.issued', 'enrolment_code.replaced'])
    })
  })

  it('refuses a method without an enroller, an unknown person and a lifetime out of range, storing nothing', async () => {
    const before = await withStore(dataDir, (store) => codesOf(store, worker.uid))
    refused(await careid('people', 'enrol', worker.username, '--method', 'smartcard'), /no enrolment is offered for the method smartcard; codes can be issued for: totp/)
    refused(await careid('people', 'enrol', 'no.such.person', '--method', 'totp'), /no person with UID or username no\.such\.person/)
    refused(await careid('people', 'enrol', worker.username, '--method', 'totp', '--hours', '73'), /--hours must be a number of hours above 0 and at most 72: 73/)
    refused(await careid('people', 'enrol', worker.username, '--method', 'totp', '--hours', 'soon'), /--hours must be a number of hours above 0 and at most 72: soon/)
    await withStore(dataDir, async (store) => assert.deepEqual(await codesOf(store, worker.uid), before))
  })
})
