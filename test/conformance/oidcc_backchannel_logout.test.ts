/**
 * The OpenID Foundation's Back-Channel RP-Initiated Logout plan
 * (oidcc-backchannel-rp-initiated-logout-certification-test-plan), one test per module and named
 * after it, then what the plan leaves to a single relying party: several relying parties in one
 * session, one without a back-channel URI, and a receiver that fails before it succeeds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { backchannelLogoutEvent } from '@careid/oidc'
import { Browser } from '../support/browser.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import {
  addRp,
  assertErrorRedirect,
  authorizationUrl,
  authorize,
  authRequest,
  codeFlow,
  copyCookies,
  eventually,
  exchangeCode,
  fetchJwks,
  user,
  verifyIdToken,
  type Rp,
  type Tokens,
} from '../support/conformance.ts'

const postLogout = 'https://rp.example.test/signed-out'

describe('OpenID conformance: Back-Channel RP-Initiated Logout OP plan', () => {
  let careid: TestCareid
  const receivers: Receiver[] = []

  before(async () => {
    careid = await startTestCareid()
  })
  after(async () => {
    await careid.close()
    for (const receiver of receivers) await receiver.close()
  })

  async function receiver(): Promise<Receiver> {
    const started = await startReceiver()
    receivers.push(started)
    return started
  }

  function rpWith(backchannel: Receiver | undefined): Promise<Rp> {
    return addRp(careid, { post_logout_redirect_uris: [postLogout], backchannel_logout_uri: backchannel?.url })
  }

  /** Joins `rp` to the browser's session by single sign-on (no page), returning its ID token's claims. */
  async function joinSession(browser: Browser, rp: Rp): Promise<JWTPayload> {
    const params = authRequest(rp)
    const { code, pages } = await authorize(careid, browser, rp, params)
    assert.equal(pages.length, 0, 'single sign-on')
    const result = await exchangeCode(careid, rp, code)
    assert.equal(result.status, 200)
    const tokens = result.body as unknown as Tokens
    return (await verifyIdToken(careid, tokens.id_token, { clientId: rp.client_id, nonce: params.nonce, sub: user.uid })).payload
  }

  /** RP-initiated logout with the ID token as hint; the OP must redirect to the registered URI. */
  async function logout(browser: Browser, idToken: string): Promise<void> {
    const url = new URL(careid.provider.endpoints.endSession)
    url.searchParams.set('id_token_hint', idToken)
    url.searchParams.set('post_logout_redirect_uri', postLogout)
    url.searchParams.set('state', 'bye')
    const response = await browser.fetch(url.href)
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), `${postLogout}?state=bye`, 'the logout redirected')
  }

  /** OpenID Connect Back-Channel Logout 1.0 2.4 and 2.6: what a relying party must check of a logout token. */
  async function verifyLogoutToken(token: string | undefined, expected: { clientId: string; sid: unknown }): Promise<JWTPayload> {
    assert.ok(token, 'a logout token arrived')
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await fetchJwks(careid.provider.endpoints.jwks)), {
      issuer: careid.issuer,
      audience: expected.clientId,
      algorithms: ['RS256'],
      // exp became REQUIRED in the final Back-Channel Logout 1.0 (2.4); jose checks it has not passed.
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'events'],
    })
    assert.equal(protectedHeader.typ, 'logout+jwt')
    assert.equal(payload.sub, user.uid)
    assert.equal(payload.sid, expected.sid, "the ID token's sid")
    assert.deepEqual(payload.events, { [backchannelLogoutEvent]: {} })
    assert.equal('nonce' in payload, false, 'a nonce MUST NOT be present')
    assert.equal(typeof payload.jti, 'string')
    assert.ok(Math.abs(Math.floor(Date.now() / 1000) - (payload.iat as number)) <= 60, 'iat is fresh')
    return payload
  }

  /** prompt=none now fails, for the browser and for its old cookie presented again. */
  async function assertSessionEnded(rp: Rp, browsers: Browser[]): Promise<void> {
    for (const browser of browsers) {
      const params = authRequest(rp, { prompt: 'none' })
      const response = await browser.fetch(authorizationUrl(careid, params))
      assertErrorRedirect(response, { redirectUri: rp.redirect_uri, error: 'login_required', state: params.state, issuer: careid.issuer })
    }
  }

  /** Notifications in the outbox, whatever their state. */
  async function outboxTotal(): Promise<number> {
    const { pending, delivered, gave_up } = await careid.context.store.outbox.counts()
    return pending + delivered + gave_up
  }

  async function logoutMetric(outcome: 'delivered' | 'failed'): Promise<number> {
    const text = await careid.metrics()
    const match = new RegExp(`^careid_backchannel_logout_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)
    return Number(match?.[1] ?? 0)
  }

  it('oidcc-backchannel-logout-discovery-endpoint-verification', async () => {
    const doc = (await (await fetch(careid.provider.endpoints.discovery)).json()) as Record<string, unknown>
    assert.equal(doc.backchannel_logout_supported, true)
    assert.equal(doc.backchannel_logout_session_supported, true, 'logout tokens carry sid')
    assert.equal(doc.end_session_endpoint, `${careid.issuer}/connect/endSession`)
  })

  it('oidcc-backchannel-rp-initiated-logout', async () => {
    const inbox = await receiver()
    const rp = await rpWith(inbox)
    const browser = new Browser(careid.origin)
    const { tokens, claims } = await codeFlow(careid, browser, rp)
    const saved = copyCookies(browser, new Browser(careid.origin))

    await logout(browser, tokens.id_token)
    const [token] = await inbox.waitFor(1)
    await verifyLogoutToken(token, { clientId: rp.client_id, sid: claims.sid })
    await assertSessionEnded(rp, [browser, saved])
  })

  it('every relying party in the session receives a logout token', async () => {
    const [inboxA, inboxB] = [await receiver(), await receiver()]
    const [rpA, rpB] = [await rpWith(inboxA), await rpWith(inboxB)]
    const browser = new Browser(careid.origin)
    const { tokens, claims } = await codeFlow(careid, browser, rpA)
    const claimsB = await joinSession(browser, rpB)
    assert.equal(claimsB.sid, claims.sid, 'one session')

    await logout(browser, tokens.id_token)
    const [[tokenA], [tokenB]] = await Promise.all([inboxA.waitFor(1), inboxB.waitFor(1)])
    await verifyLogoutToken(tokenA, { clientId: rpA.client_id, sid: claims.sid })
    await verifyLogoutToken(tokenB, { clientId: rpB.client_id, sid: claims.sid })
    await assertSessionEnded(rpB, [browser])
  })

  it('a relying party without a back-channel URI is sent nothing', async () => {
    const inbox = await receiver()
    const [withUri, withoutUri] = [await rpWith(inbox), await rpWith(undefined)]
    const browser = new Browser(careid.origin)
    const { tokens, claims } = await codeFlow(careid, browser, withUri)
    await joinSession(browser, withoutUri)

    const before = await outboxTotal()
    await logout(browser, tokens.id_token)
    // The notifications are queued before the logout answers: one, for the one that asked.
    assert.equal(await outboxTotal(), before + 1, 'one notification, for the relying party with a URI')
    const [token] = await inbox.waitFor(1)
    await verifyLogoutToken(token, { clientId: withUri.client_id, sid: claims.sid })
    await assertSessionEnded(withoutUri, [browser])
  })

  it('a logout token is retried until the relying party accepts it, then delivered once', async () => {
    const inbox = await receiver()
    inbox.status = 500
    const rp = await rpWith(inbox)
    const browser = new Browser(careid.origin)
    const { tokens, claims } = await codeFlow(careid, browser, rp)

    const failedBefore = await logoutMetric('failed')
    const deliveredBefore = await logoutMetric('delivered')
    await logout(browser, tokens.id_token)
    // Two refused attempts: the first, and at least one retry after it.
    await eventually(async () => (await logoutMetric('failed')) >= failedBefore + 2, 'two failed deliveries')
    assert.equal(inbox.tokens.length, 0, 'nothing accepted while the receiver fails')

    inbox.status = 200
    const [token] = await inbox.waitFor(1)
    await verifyLogoutToken(token, { clientId: rp.client_id, sid: claims.sid })
    await eventually(async () => (await careid.context.store.outbox.counts()).pending === 0, 'the delivery to be recorded')
    assert.equal(await logoutMetric('delivered'), deliveredBefore + 1)
    // Delivered is final: nothing is due any more, so no second token can follow.
    assert.equal(await careid.provider.dispatcher.runOnce(), 0)
    assert.equal(inbox.tokens.length, 1, 'delivered exactly once')
  })
})
