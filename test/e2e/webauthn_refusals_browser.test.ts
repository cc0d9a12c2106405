/**
 * What Careid refuses of a security key or passkey, in a real browser (headless Chromium and its
 * virtual authenticators), each with a clear page, counted in careid_sign_ins_total and audited:
 * a cloned key (its credential exported and added to another authenticator with an old signature
 * counter), a phishing proxy on another origin relaying Careid's pages, a captured assertion posted
 * again, an authenticator that did not verify the user, and, with the test authenticators not
 * trusted, a security key whose attestation Careid cannot place.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import type { AdminServices } from '@careid/admin'
import type { AuditEvent } from '@careid/ports'
import { adminServices } from '../../packages/cli/src/commands/admin.ts'
import { assertAccessible } from '../support/axe.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { person } from '../support/demo_people.ts'
import { authorizeUrl, baseUrl, type TestRp } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { enrolWithCode, heading, landingRp, problem, signInWith, startSignIn, virtualAuthenticators, webAuthnTab, type WebAuthnTab } from '../support/webauthn_browser.ts'

let work: string
let context: BrowserContext

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'careid-webauthn-refusals-'))
  ;({ context } = await launchChromium(join(work, 'chromium')))
})
after(async () => {
  await context?.close()
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

async function audited(careid: TestCareid, type: string): Promise<AuditEvent[]> {
  return (await careid.context.store.audit.recent(500)).filter((e) => e.type === type)
}

/** The sign-in counter for `method` and `result`, as /metrics shows it. */
async function signInCount(careid: TestCareid, method: string, result: string): Promise<number> {
  const line = (await careid.metrics()).split('\n').find((l) => l.startsWith('careid_sign_ins_total{') && l.includes(`method="${method}"`) && l.includes(`result="${result}"`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

/** The credential the tab's authenticator holds, as WebAuthn.getCredentials exports it. */
async function exported(tab: WebAuthnTab, authenticatorId: string): Promise<{ [key: string]: unknown; signCount: number }> {
  const { credentials } = (await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId })) as unknown as { credentials: Array<{ [key: string]: unknown; signCount: number }> }
  assert.equal(credentials.length, 1)
  return credentials[0] as { [key: string]: unknown; signCount: number }
}

/** Waits for the sign-in page to come back after its post: the problem it shows. */
async function refusedWith(tab: WebAuthnTab, title: string): Promise<string> {
  await tab.page.waitForSelector('.nhsuk-error-summary', { timeout: 30_000 })
  assert.equal(await heading(tab.page), title)
  return problem(tab.page)
}

describe('WebAuthn refusals in a real browser', { ...requires(chromium), concurrency: 1 }, () => {
  let careid: TestCareid
  let rp: TestRp & { close(): Promise<void> }
  let base: string
  let admin: AdminServices

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: '1000' } })
    rp = await landingRp(careid)
    base = baseUrl(careid)
    admin = adminServices(careid.context)
  })
  after(async () => {
    await rp?.close()
    await careid?.close()
  })

  it('refuses a cloned security key (its counter did not increase): counter_regression, counted and audited', async () => {
    const worker = person('midwife.taylor')
    const original = await webAuthnTab(context)
    const key = await original.add(virtualAuthenticators.securityKey)
    await enrolWithCode(original, careid, admin, base, worker.username, 'security_key', 'Add a security key')
    assert.equal((await signInWith(original, rp, 'AAL3_FIDO2', 'security_key')).id.sub, worker.uid)
    const credential = await exported(original, key)
    assert.ok(credential.signCount >= 2, `the key has counted its uses: ${credential.signCount}`)
    await original.close()

    // The copy: the same private key in another authenticator, its counter back at 0.
    const copy = await webAuthnTab(context)
    const copyId = await copy.add(virtualAuthenticators.securityKey)
    await copy.cdp.send('WebAuthn.addCredential', { authenticatorId: copyId, credential: { ...credential, signCount: 0 } as never })
    const before = await signInCount(careid, 'security_key', 'counter_regression')
    await startSignIn(copy, rp, 'AAL3_FIDO2', 'security_key')
    const text = await refusedWith(copy, 'Sign in to Test app Sign in with your security key')
    assert.match(text, /That security key could not be used: it may have been copied\. Contact your Registration Authority \(RA\)/)
    await assertAccessible(copy.page, 'the security key page with a refusal')
    assert.equal(copy.page.url().startsWith(rp.redirect_uri), false)
    assert.equal(await signInCount(careid, 'security_key', 'counter_regression'), before + 1)
    const [entry] = await audited(careid, 'webauthn.counter_regression')
    assert.equal(entry?.subject, worker.uid)
    assert.equal(entry?.detail?.['stored_counter'], credential.signCount)
    assert.equal(entry?.detail?.['received_counter'], 1)
    await copy.close()
  })

  it('refuses an assertion made on a phishing proxy at another origin: wrong_origin, counted and audited', async () => {
    const worker = person('dentist.walker')
    const tab = await webAuthnTab(context)
    await tab.add(virtualAuthenticators.securityKey)
    await enrolWithCode(tab, careid, admin, base, worker.username, 'security_key', 'Add a security key')
    const proxy = await startPhishingProxy(careid.origin)
    try {
      const before = await signInCount(careid, 'security_key', 'wrong_origin')
      await tab.page.goto(authorizeUrl(rp, { scope: 'openid', state: 'phish', acr_values: 'AAL3_FIDO2' }).replace(careid.origin, proxy.origin))
      await tab.page.check('input[name="method"][value="security_key"]')
      await tab.page.locator('form button').first().click()
      const text = await refusedWith(tab, 'Sign in to Test app Sign in with your security key')
      assert.match(text, /That answer was made for another website, not this one\. Sign in only on this page/)
      assert.ok(tab.page.url().startsWith(proxy.origin), 'all the way through the proxy')
      assert.equal(await signInCount(careid, 'security_key', 'wrong_origin'), before + 1)
      const [entry] = await audited(careid, 'webauthn.wrong_origin')
      assert.equal(entry?.subject, worker.uid)
      assert.equal(entry?.detail?.['origin'], proxy.origin)
    } finally {
      await proxy.close()
      await tab.close()
    }
  })

  it('refuses a captured assertion posted again in another sign-in: challenge_replayed, counted and audited', async () => {
    const worker = person('nurse.jones')
    const tab = await webAuthnTab(context)
    await tab.add(virtualAuthenticators.securityKey)
    await enrolWithCode(tab, careid, admin, base, worker.username, 'security_key', 'Add a security key')
    let captured: string | undefined
    tab.page.on('request', (r) => {
      if (r.method() === 'POST' && (r.postData() ?? '').includes('response=%7B')) captured ??= new URLSearchParams(r.postData() ?? '').get('response') ?? undefined
    })
    assert.equal((await signInWith(tab, rp, 'AAL3_FIDO2', 'security_key', 'first')).id.sub, worker.uid)
    assert.ok(captured !== undefined, 'the assertion was captured')

    // A new sign-in in a browser with no session; its post carries the captured assertion instead of its own.
    await context.clearCookies()
    await tab.page.route('**/interaction/**', async (route) => {
      const body = route.request().postData()
      if (route.request().method() !== 'POST' || body === null || !body.includes('response=')) return route.continue()
      const fields = new URLSearchParams(body)
      fields.set('response', captured as string)
      return route.continue({ postData: fields.toString() })
    })
    const before = await signInCount(careid, 'security_key', 'challenge_replayed')
    await startSignIn(tab, rp, 'AAL3_FIDO2', 'security_key', 'second')
    const text = await refusedWith(tab, 'Sign in to Test app Sign in with your security key')
    assert.match(text, /That answer was already used or has expired\. Try again/)
    assert.equal(await signInCount(careid, 'security_key', 'challenge_replayed'), before + 1)
    const entries = await audited(careid, 'webauthn.challenge_replayed')
    assert.equal(entries[0]?.subject, worker.uid)
    assert.equal(entries[0]?.detail?.['why'], 'another challenge')
    await tab.close()
  })

  it('refuses a sign-in without user verification: the browser gives no answer, and a client that drops it gets user_not_verified, audited', async () => {
    const worker = person('reception.brown')
    const tab = await webAuthnTab(context)
    const key = await tab.add(virtualAuthenticators.securityKey)
    await enrolWithCode(tab, careid, admin, base, worker.username, 'security_key', 'Add a security key')
    const credential = await exported(tab, key)

    // The PIN or fingerprint fails: the browser does not answer a request that requires it.
    await tab.cdp.send('WebAuthn.setUserVerified', { authenticatorId: key, isUserVerified: false })
    const cancelledBefore = await signInCount(careid, 'security_key', 'webauthn_cancelled')
    await startSignIn(tab, rp, 'AAL3_FIDO2', 'security_key', 'no-pin')
    assert.match(await refusedWith(tab, 'Sign in to Test app Sign in with your security key'), /Your browser did not give a security key answer \(it was cancelled, it timed out, or there was no key\)\. Try again/)
    assert.equal(await signInCount(careid, 'security_key', 'webauthn_cancelled'), cancelledBefore + 1)
    await tab.close()

    // A client that asks the authenticator not to verify (a script in the page rewrites the request:
    // no user verification, and the credential named, as Chromium asks for a discoverable credential
    // only with verification), with a key that cannot verify.
    await context.clearCookies()
    const lax = await webAuthnTab(context)
    const laxKey = await lax.add({ ...virtualAuthenticators.securityKey, hasUserVerification: false, isUserVerified: false })
    await lax.cdp.send('WebAuthn.addCredential', { authenticatorId: laxKey, credential: { ...credential, signCount: credential.signCount + 10 } as never })
    const id = [...Buffer.from(String(credential['credentialId']), 'base64')]
    await lax.page.addInitScript({
      content: `(() => {
        const get = navigator.credentials.get.bind(navigator.credentials)
        navigator.credentials.get = (options) => get({ ...options, publicKey: { ...options.publicKey, userVerification: 'discouraged', allowCredentials: [{ type: 'public-key', id: new Uint8Array(${JSON.stringify(id)}) }] } })
      })()`,
    })
    const before = await signInCount(careid, 'security_key', 'user_not_verified')
    await startSignIn(lax, rp, 'AAL3_FIDO2', 'security_key', 'no-uv')
    assert.match(await refusedWith(lax, 'Sign in to Test app Sign in with your security key'), /Your security key did not check it was you\. Use its PIN, fingerprint or face, then try again/)
    assert.equal(await signInCount(careid, 'security_key', 'user_not_verified'), before + 1)
    const [entry] = await audited(careid, 'webauthn.user_not_verified')
    assert.equal(entry?.subject, worker.uid)
    assert.equal(entry?.detail?.['uv'], false)
    await lax.close()
  })
})

describe('WebAuthn with the test authenticators not trusted', { ...requires(chromium), concurrency: 1 }, () => {
  let careid: TestCareid
  let rp: TestRp & { close(): Promise<void> }
  let admin: AdminServices

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: '1000', trustTestAuthenticators: 'false' } })
    rp = await landingRp(careid)
    admin = adminServices(careid.context)
  })
  after(async () => {
    await rp?.close()
    await careid?.close()
  })

  it('refuses a security key whose attestation it cannot place (attestation_not_trusted, audited); a passkey from it is AAL2', async () => {
    const worker = person('pharm.singh')
    const tab = await webAuthnTab(context)
    await tab.add(virtualAuthenticators.securityKey)
    const page = await enrolWithCode(tab, careid, admin, baseUrl(careid), worker.username, 'security_key', 'Add a security key')
    assert.equal(await heading(page), 'Add a security key')
    assert.match(await problem(page), /Careid cannot confirm this security key is a known, certified authenticator, which this way of signing in needs/)
    await assertAccessible(page, 'the add-a-security-key page with a refusal')
    assert.deepEqual((await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'webauthn'), [])
    const [entry] = await audited(careid, 'webauthn.attestation_not_trusted')
    assert.equal(entry?.subject, worker.uid)
    assert.equal(entry?.detail?.['aaguid'], '01020304-0506-0708-0102-030405060708')
    assert.equal(entry?.detail?.['why'], 'no metadata for this AAGUID')
    await tab.close()

    await context.clearCookies()
    const phone = await webAuthnTab(context)
    await phone.add(virtualAuthenticators.platform)
    const done = await enrolWithCode(phone, careid, admin, baseUrl(careid), worker.username, 'passkey', 'Add a passkey')
    assert.equal(await heading(done), 'Passkey set up')
    const tokens = await signInWith(phone, rp, 'AAL2_OR_AAL3_ANY', 'passkey')
    assert.deepEqual(tokens.id.amr, ['PASSKEY'])
    assert.equal(tokens.id.authentication_assurance_level, '2')
    assert.equal(tokens.id.acr, 'AAL2_OR_AAL3_ANY')
    await phone.close()
  })
})

/**
 * A phishing proxy on another localhost port: it relays Careid's pages, rewriting Careid's origin to
 * its own in redirects and pages, and the browser's Origin and Referer back, as an
 * attacker-in-the-middle would. RP ID `localhost` is valid for its origin too (RP IDs ignore the
 * port), so only the origin in the signed client data tells the two apart.
 */
async function startPhishingProxy(target: string): Promise<{ origin: string; close(): Promise<void> }> {
  const upstream = new URL(target)
  let origin = ''
  const server = createServer((incoming, outgoing) => {
    const headers: IncomingHttpHeaders = { ...incoming.headers, host: upstream.host }
    for (const name of ['origin', 'referer'] as const) {
      const value = headers[name]
      if (typeof value === 'string') headers[name] = value.replaceAll(origin, target)
    }
    const forwarded = request({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers }, (answer) => {
      const out: { [name: string]: string | string[] | number | undefined } = { ...answer.headers }
      if (typeof out['location'] === 'string') out['location'] = out['location'].replaceAll(target, origin)
      const html = (answer.headers['content-type'] ?? '').includes('text/html')
      if (!html) {
        outgoing.writeHead(answer.statusCode ?? 502, out)
        answer.pipe(outgoing)
        return
      }
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => chunks.push(chunk))
      answer.on('end', () => {
        const body = Buffer.from(Buffer.concat(chunks).toString('utf8').replaceAll(target, origin))
        delete out['content-length']
        outgoing.writeHead(answer.statusCode ?? 502, { ...out, 'content-length': body.length })
        outgoing.end(body)
      })
    })
    forwarded.on('error', () => outgoing.writeHead(502).end())
    incoming.pipe(forwarded)
  })
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  origin = `http://localhost:${(server.address() as AddressInfo).port}`
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
