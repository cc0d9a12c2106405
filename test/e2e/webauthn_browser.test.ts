/**
 * Security keys, Windows Hello and passkeys in a real browser (headless Chromium), with its virtual
 * authenticators standing in for the devices (`ctap2` over `usb` for a security key, `internal` for
 * Windows Hello, `internal` with backup eligibility for a synced passkey): a Registration Authority's
 * enrolment code, the registration ceremony on Careid's page, then sign-in to an application, whose
 * ID token says the `acr`, `amr` and `authentication_assurance_level` each kind gives. The test
 * authenticators' attestation is trusted here (the demo's default).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import type { AdminServices } from '@careid/admin'
import { adminServices } from '../../packages/cli/src/commands/admin.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { person } from '../support/demo_people.ts'
import { baseUrl, type TestRp } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { enrolWithCode, heading, landingRp, signInWith, virtualAuthenticators, webAuthnTab } from '../support/webauthn_browser.ts'

describe('WebAuthn registration and sign-in in a real browser', { ...requires(chromium), concurrency: 1 }, () => {
  let careid: TestCareid
  let rp: TestRp & { close(): Promise<void> }
  let base: string
  let admin: AdminServices
  let work: string
  let context: BrowserContext

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: '1000' } })
    rp = await landingRp(careid)
    base = baseUrl(careid)
    admin = adminServices(careid.context)
    work = mkdtempSync(join(tmpdir(), 'careid-webauthn-'))
    ;({ context } = await launchChromium(join(work, 'chromium')))
  })
  after(async () => {
    await context?.close()
    await rp?.close()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  for (const [kind, label, authenticator, username, acr, amr, aal] of [
    ['security_key', 'Security key', virtualAuthenticators.securityKey, 'nurse.jones', 'AAL3_FIDO2', 'FIDO2', '3'],
    ['windows_hello', 'Windows Hello', virtualAuthenticators.platform, 'pharm.singh', 'AAL3_FIDO2', 'FIDO2', '3'],
    ['passkey', 'Passkey', virtualAuthenticators.syncedPasskey, 'reception.brown', 'AAL2_PASSKEY', 'PASSKEY', '2'],
  ] as const) {
    it(`registers a ${label.toLowerCase()} with an enrolment code and signs in with it: ${acr}, amr ${amr}, AAL${aal}`, async () => {
      const worker = person(username)
      const tab = await webAuthnTab(context)
      await tab.add(authenticator)
      const done = await enrolWithCode(tab, careid, admin, base, worker.username, kind, `Add ${kind === 'windows_hello' ? 'Windows Hello' : `a ${label.toLowerCase()}`}`)
      assert.equal(await heading(done), `${label} set up`)
      const credentials = (await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'webauthn')
      assert.equal(credentials.length, 1)
      assert.equal(credentials[0]?.state['webauthn_kind'], kind)
      assert.equal(credentials[0]?.state['level'], Number(aal))
      assert.notEqual(credentials[0]?.state['user_handle'], worker.uid)

      const tokens = await signInWith(tab, rp, acr, kind)
      assert.equal(tokens.id.sub, worker.uid)
      assert.equal(tokens.id.acr, acr)
      assert.deepEqual(tokens.id.amr, [amr])
      assert.equal(tokens.id.authentication_assurance_level, aal)
      assert.deepEqual(tab.problems, [], 'no CSP violation or script error')
      await tab.close()
    })
  }
})
