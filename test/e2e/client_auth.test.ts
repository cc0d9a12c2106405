/**
 * Client authentication at the token, introspection and revocation endpoints: client secrets
 * (post and Basic, RFC 6749 2.3.1) and private_key_jwt (OIDC Core 9, RFC 7523), the way CIS2 does
 * it (cis2.md 1.4): a bad assertion is 401 `invalid_client` "JWT is not valid", whatever is wrong
 * with it, so a caller learns nothing about which check failed.
 *
 * Every refusal happens before the code is looked at, so each is followed by proof that the
 * client's code is still unredeemed, and finally that it still works, once.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { SignJWT, type JWK } from 'jose'
import { registerClient, sha256 } from '@careid/oidc'
import type { Browser } from '../support/browser.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { hs256Jwt, publicKeyPem, rs256Jwt, unsignedJwt } from '../support/jwt_forgery.ts'
import { codeRedeemed, expectJsonError } from '../support/refusals.ts'
import { pkcePair, postForm, signedInBrowser, ssoCode, type CodeClient, type FormValues } from '../support/sso_codes.ts'

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const jwtNotValid = 'JWT is not valid'
const authFailed = 'Client authentication failed'

type Alg = 'RS256' | 'RS512' | 'PS256' | 'ES256'

interface KeyClient extends CodeClient {
  alg: Alg
  kid: string
  privateKey: KeyObject
  publicJwk: JWK
}

function keyPair(alg: Alg): { privateKey: KeyObject; publicJwk: JWK } {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as JWK }
}

/** A key no client registered, to sign assertions that claim to be a client's. */
const stranger = keyPair('RS256').privateKey

/** RFC 6749 2.3.1: the id and secret are each application/x-www-form-urlencoded before Basic. */
function basic(id: string, secret: string, encode = true): string {
  const formEncode = (v: string) => new URLSearchParams({ v }).toString().slice(2)
  return `Basic ${Buffer.from(encode ? `${formEncode(id)}:${formEncode(secret)}` : `${id}:${secret}`).toString('base64')}`
}

/** A JWKS served over HTTP for a jwks_uri client, counting its fetches. */
async function serveJwks(jwks: { keys: JWK[] }): Promise<{ url: string; fetches: () => number; close: () => Promise<void> }> {
  let fetches = 0
  const server: Server = createServer((_req, res) => {
    fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

describe('client authentication', () => {
  let careid: TestCareid
  let browser: Browser
  let post: CodeClient & { client_secret: string }
  let publicClient: CodeClient

  const tokenUrl = () => careid.provider.endpoints.token

  before(async () => {
    careid = await startTestCareid()
    const added = await careid.addClient({ redirect_uris: ['https://post.example.test/cb'], token_endpoint_auth_method: 'client_secret_post' })
    post = { client_id: added.client_id, client_secret: added.client_secret as string, redirect_uri: 'https://post.example.test/cb' }
    const pub = await careid.addClient({ redirect_uris: ['http://127.0.0.1:8123/cb'], token_endpoint_auth_method: 'none' })
    publicClient = { client_id: pub.client_id, redirect_uri: 'http://127.0.0.1:8123/cb' }
    browser = await signedInBrowser(careid, post)
  })
  after(async () => {
    await careid.close()
  })

  /** The code grant request for `client`'s `code`, with the client's credentials in `auth`. */
  const grant = (client: CodeClient, code: string, auth: FormValues, extra: FormValues = {}): FormValues => ({
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirect_uri,
    ...auth,
    ...extra,
  })

  describe('with a client secret', () => {
    let code: string
    /** A secret with every character that form-encoding changes: '+', ':', '%', space, '/', non-ASCII. */
    const oddSecret = 'p+a:ss w%rd/é~!*'
    let odd: CodeClient
    let oddCode: string

    before(async () => {
      code = await ssoCode(careid, browser, post)
      // The secret is chosen here rather than generated, so it holds the awkward characters; the
      // store keeps only its hash, as for any client.
      const { client } = registerClient({ client_name: 'Odd secret', redirect_uris: ['https://odd.example.test/cb'], token_endpoint_auth_method: 'client_secret_basic' }, Date.now())
      client.client_secret_hash = sha256(oddSecret)
      await careid.context.store.clients.put(client)
      careid.provider.clients.invalidate(client.client_id)
      odd = { client_id: client.client_id, redirect_uri: 'https://odd.example.test/cb' }
      oddCode = await ssoCode(careid, browser, odd)
    })

    function untouched(): void {
      assert.equal(codeRedeemed(careid, code), false, 'the code is still unredeemed')
    }

    it('refuses an unknown client, a wrong or missing secret: 401 invalid_client, no Basic challenge when Basic was not used', async () => {
      const wrong = `${post.client_secret}x`
      for (const auth of [
        { client_id: '999999999999.apps.national', client_secret: post.client_secret },
        { client_id: post.client_id, client_secret: wrong },
        { client_id: post.client_id },
        {},
      ]) {
        const response = await postForm(tokenUrl(), grant(post, code, auth))
        assert.equal(response.headers.get('www-authenticate'), null)
        await expectJsonError(response, { status: 401, error: 'invalid_client', description: authFailed, secrets: [post.client_secret, wrong] })
      }
      untouched()
    })

    it('refuses a bad Basic header: 401 invalid_client with a Basic challenge (RFC 6749 5.2)', async () => {
      const wrong = `${post.client_secret}x`
      for (const header of [
        basic(post.client_id, wrong),
        basic('999999999999.apps.national', post.client_secret),
        basic('', post.client_secret),
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from('no-colon-at-all').toString('base64')}`,
        `Basic ${Buffer.from(`${post.client_id}:%ZZ`).toString('base64')}`,
      ]) {
        const response = await postForm(tokenUrl(), grant(post, code, {}), { authorization: header })
        assert.match(response.headers.get('www-authenticate') ?? '', /^Basic /, header)
        await expectJsonError(response, { status: 401, error: 'invalid_client', description: authFailed, secrets: [post.client_secret, wrong] })
      }
      untouched()
    })

    it('refuses two authentication methods at once, even when both are right: 400 invalid_request', async () => {
      // RFC 6749 2.3: "The client MUST NOT use more than one authentication method in each request."
      const both = await postForm(tokenUrl(), grant(post, code, { client_id: post.client_id, client_secret: post.client_secret }), { authorization: basic(post.client_id, post.client_secret) })
      await expectJsonError(both, { status: 400, error: 'invalid_request', description: 'only one client authentication method may be used', secrets: [post.client_secret] })
      const withAssertion = await postForm(tokenUrl(), grant(post, code, { client_assertion_type: assertionType, client_assertion: 'a.b.c' }), { authorization: basic(post.client_id, post.client_secret) })
      await expectJsonError(withAssertion, { status: 400, error: 'invalid_request', secrets: [post.client_secret] })
      const secretAndAssertion = await postForm(tokenUrl(), grant(post, code, { client_id: post.client_id, client_secret: post.client_secret, client_assertion_type: assertionType, client_assertion: 'a.b.c' }))
      await expectJsonError(secretAndAssertion, { status: 400, error: 'invalid_request', secrets: [post.client_secret] })
      // A client_id in the body that is not the one in the header.
      const mismatch = await postForm(tokenUrl(), grant(post, code, { client_id: odd.client_id }), { authorization: basic(post.client_id, post.client_secret) })
      await expectJsonError(mismatch, { status: 400, error: 'invalid_request', secrets: [post.client_secret] })
      untouched()
    })

    it('refuses a secret from a client that has none: 401 invalid_client', async () => {
      const response = await postForm(tokenUrl(), grant(publicClient, code, { client_id: publicClient.client_id, client_secret: 'anything' }))
      await expectJsonError(response, { status: 401, error: 'invalid_client', description: authFailed, secrets: ['anything'] })
      untouched()
    })

    it('still redeems the code once after all of that (the secret may come by Basic too), and never twice', async () => {
      const response = await postForm(tokenUrl(), grant(post, code, {}), { authorization: basic(post.client_id, post.client_secret) })
      assert.equal(response.status, 200, await response.clone().text())
      assert.equal(typeof ((await response.json()) as { access_token?: unknown }).access_token, 'string')
      const again = await postForm(tokenUrl(), grant(post, code, { client_id: post.client_id, client_secret: post.client_secret }))
      await expectJsonError(again, { status: 400, error: 'invalid_grant' })
    })

    it('decodes a form-encoded Basic secret, and refuses the same secret sent unencoded', async () => {
      // Unencoded, '+' reads as a space and '%rd' is no escape at all: not the secret.
      const raw = await postForm(tokenUrl(), grant(odd, oddCode, {}), { authorization: basic(odd.client_id, oddSecret, false) })
      assert.match(raw.headers.get('www-authenticate') ?? '', /^Basic /)
      await expectJsonError(raw, { status: 401, error: 'invalid_client', secrets: [oddSecret] })
      assert.equal(codeRedeemed(careid, oddCode), false)
      const encoded = await postForm(tokenUrl(), grant(odd, oddCode, {}), { authorization: basic(odd.client_id, oddSecret) })
      assert.equal(encoded.status, 200, await encoded.text())
      // In the body the form encoding is the body's own, so the same secret works there as well.
      const viaPost = await postForm(tokenUrl(), grant(odd, await ssoCode(careid, browser, odd), { client_id: odd.client_id, client_secret: oddSecret }))
      assert.equal(viaPost.status, 200, await viaPost.text())
    })

    it('lets a public client in by client_id alone, with its PKCE verifier', async () => {
      // Its code can only have been issued with a challenge (the authorization endpoint refuses it
      // otherwise), so the verifier is what authenticates it.
      const pkce = pkcePair()
      const publicCode = await ssoCode(careid, browser, publicClient, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      const response = await postForm(tokenUrl(), grant(publicClient, publicCode, { client_id: publicClient.client_id, code_verifier: pkce.verifier }))
      assert.equal(response.status, 200, await response.text())
    })

    it('refuses introspection to a public client sending only its client_id: 401 invalid_client, and says nothing of the token', async () => {
      const pkce = pkcePair()
      const publicCode = await ssoCode(careid, browser, publicClient, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      const tokens = await postForm(tokenUrl(), grant(publicClient, publicCode, { client_id: publicClient.client_id, code_verifier: pkce.verifier }))
      const { access_token } = (await tokens.json()) as { access_token: string }
      // RFC 7662 2.1: the caller of introspection MUST be authorized; a client_id is public knowledge.
      const response = await postForm(careid.provider.endpoints.introspection, { token: access_token, client_id: publicClient.client_id })
      await expectJsonError(response, { status: 401, error: 'invalid_client', description: authFailed, secrets: [access_token] })
    })

    it('lets a public client revoke its own token by client_id alone (RFC 7009 2.1)', async () => {
      const pkce = pkcePair()
      const publicCode = await ssoCode(careid, browser, publicClient, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      const tokens = await postForm(tokenUrl(), grant(publicClient, publicCode, { client_id: publicClient.client_id, code_verifier: pkce.verifier }))
      const { access_token } = (await tokens.json()) as { access_token: string }
      const before = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${access_token}` } })
      assert.equal(before.status, 200)
      const revoke = await postForm(careid.provider.endpoints.revocation, { token: access_token, client_id: publicClient.client_id })
      assert.equal(revoke.status, 200)
      const after = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${access_token}` } })
      await expectJsonError(after, { status: 401, error: 'invalid_token' })
    })
  })

  describe('with private_key_jwt', () => {
    const clients = {} as Record<Alg, KeyClient>
    let remote: KeyClient
    let jwks: Awaited<ReturnType<typeof serveJwks>>

    async function addKeyClient(alg: Alg, where: 'inline' | 'uri'): Promise<KeyClient> {
      const { privateKey, publicJwk } = keyPair(alg)
      const kid = `key-${alg}-${where}`
      const redirect = `https://${alg.toLowerCase()}-${where}.example.test/cb`
      const keySet = { keys: [{ ...publicJwk, kid }] }
      let jwksUri: string | undefined
      if (where === 'uri') {
        jwks = await serveJwks(keySet)
        jwksUri = jwks.url
      }
      const { client_id } = await careid.addClient({
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: alg,
        ...(jwksUri === undefined ? { jwks: keySet } : { jwks_uri: jwksUri }),
      })
      return { client_id, redirect_uri: redirect, alg, kid, privateKey, publicJwk: { ...publicJwk, kid } }
    }

    before(async () => {
      for (const alg of ['RS256', 'RS512', 'PS256', 'ES256'] as const) clients[alg] = await addKeyClient(alg, 'inline')
      remote = await addKeyClient('RS256', 'uri')
    })
    after(async () => {
      await jwks?.close()
    })

    interface Claims {
      iss?: string
      sub?: string
      aud?: string | string[]
      jti?: string
      exp?: number
      iat?: number
    }

    /** The claims of a good assertion by `client`, with `changes` (undefined drops a claim). */
    function claims(client: KeyClient, changes: Partial<Record<keyof Claims, unknown>> = {}): Record<string, unknown> {
      const now = Math.floor(Date.now() / 1000)
      const all: Record<string, unknown> = { iss: client.client_id, sub: client.client_id, aud: tokenUrl(), jti: randomUUID(), iat: now, exp: now + 180, ...changes }
      for (const [key, value] of Object.entries(all)) if (value === undefined) delete all[key]
      return all
    }

    function sign(client: KeyClient, payload: Record<string, unknown>, options: { alg?: Alg; key?: KeyObject } = {}): Promise<string> {
      return new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? client.alg, kid: client.kid, typ: 'JWT' }).sign(options.key ?? client.privateKey)
    }

    const auth = (client: KeyClient, assertion: string, withId = true): FormValues => ({
      ...(withId ? { client_id: client.client_id } : {}),
      client_assertion_type: assertionType,
      client_assertion: assertion,
    })

    async function redeems(client: KeyClient, assertion: string, code?: string): Promise<{ access_token: string }> {
      const response = await postForm(tokenUrl(), grant(client, code ?? (await ssoCode(careid, browser, client)), auth(client, assertion)))
      const body = (await response.json()) as { access_token: string }
      assert.equal(response.status, 200, JSON.stringify(body))
      return body
    }

    for (const alg of ['RS256', 'RS512', 'PS256', 'ES256'] as const) {
      it(`accepts an ${alg} assertion from a client registered for ${alg}`, async () => {
        const client = clients[alg]
        assert.equal(typeof (await redeems(client, await sign(client, claims(client)))).access_token, 'string')
      })
    }

    it('accepts aud = the token endpoint and aud = the issuer (alone or in an array of only this provider\'s)', async () => {
      const client = clients.RS256
      for (const aud of [tokenUrl(), careid.issuer, [careid.issuer], [tokenUrl(), careid.issuer], [careid.provider.endpoints.introspection, tokenUrl()]]) {
        await redeems(client, await sign(client, claims(client, { aud })))
      }
    })

    it('accepts an assertion that expires just under 5 minutes ahead', async () => {
      const client = clients.RS256
      await redeems(client, await sign(client, claims(client, { exp: Math.floor(Date.now() / 1000) + 295 })))
    })

    it('accepts an assertion without client_id in the body (the client is its iss)', async () => {
      const client = clients.RS256
      const code = await ssoCode(careid, browser, client)
      const response = await postForm(tokenUrl(), grant(client, code, auth(client, await sign(client, claims(client)), false)))
      assert.equal(response.status, 200, await response.text())
    })

    it('fetches the keys of a jwks_uri client and accepts its assertion', async () => {
      await redeems(remote, await sign(remote, claims(remote)))
      assert.ok(jwks.fetches() >= 1, 'the keys came from the jwks_uri')
    })

    it('refuses, without a server error, when a jwks_uri cannot be fetched', async () => {
      // Nothing listens on the port: the keys cannot be had, so the assertion cannot be trusted.
      const { privateKey, publicJwk } = keyPair('RS256')
      const redirect = 'https://unreachable.example.test/cb'
      const { client_id } = await careid.addClient({ redirect_uris: [redirect], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks_uri: `http://127.0.0.1:${await freePort()}/jwks.json` })
      const client: KeyClient = { client_id, redirect_uri: redirect, alg: 'RS256', kid: 'k', privateKey, publicJwk }
      const code = await ssoCode(careid, browser, client)
      const response = await postForm(tokenUrl(), grant(client, code, auth(client, await sign(client, claims(client)))))
      await expectJsonError(response, { status: 401, error: 'invalid_client', description: jwtNotValid })
      assert.equal(codeRedeemed(careid, code), false)
    })

    describe('refusals: 401 invalid_client "JWT is not valid", and the code is untouched', () => {
      let client: KeyClient
      let code: string

      before(async () => {
        client = clients.RS256
        code = await ssoCode(careid, browser, client)
      })

      async function refused(assertion: string | Promise<string>, target: KeyClient = client, withId = true): Promise<void> {
        const response = await postForm(tokenUrl(), grant(client, code, auth(target, await assertion, withId)))
        await expectJsonError(response, { status: 401, error: 'invalid_client', description: jwtNotValid })
        assert.equal(codeRedeemed(careid, code), false, 'the code is still unredeemed')
      }

      const header = () => ({ kid: client.kid, typ: 'JWT' })

      it('refuses alg none', async () => {
        await refused(unsignedJwt(header(), claims(client)))
      })

      it('refuses a signature by another key under the client kid', async () => {
        await refused(sign(client, claims(client), { key: stranger }))
      })

      it('refuses HS256 keyed with the client public key (algorithm confusion)', async () => {
        await refused(hs256Jwt(header(), claims(client), publicKeyPem(client.publicJwk as Record<string, unknown>)))
        await refused(hs256Jwt(header(), claims(client), JSON.stringify(client.publicJwk)))
      })

      it('refuses an algorithm other than the registered one, even with the right key', async () => {
        await refused(sign(client, claims(client), { alg: 'RS512' }))
        await refused(sign(client, claims(client), { alg: 'PS256' }))
        // And an ES256 client's assertion signed RS256 with a key of its own choosing.
        const es = clients.ES256
        const esCode = await ssoCode(careid, browser, es)
        const response = await postForm(tokenUrl(), grant(es, esCode, auth(es, rs256Jwt({ kid: es.kid, typ: 'JWT' }, claims(es), stranger))))
        await expectJsonError(response, { status: 401, error: 'invalid_client', description: jwtNotValid })
        assert.equal(codeRedeemed(careid, esCode), false)
      })

      it('refuses an expired assertion, and one that expires more than 5 minutes ahead', async () => {
        const now = Math.floor(Date.now() / 1000)
        await refused(sign(client, claims(client, { iat: now - 600, exp: now - 60 })))
        await refused(sign(client, claims(client, { exp: now + 6 * 60 })))
        await refused(sign(client, claims(client, { exp: now + 365 * 24 * 3600 })))
      })

      it('refuses an assertion without exp or without jti', async () => {
        await refused(sign(client, claims(client, { exp: undefined })))
        await refused(sign(client, claims(client, { jti: undefined })))
        await refused(sign(client, claims(client, { jti: '' })))
      })

      it('refuses a wrong aud', async () => {
        for (const aud of ['https://someone-else.example.test/token', careid.provider.endpoints.userinfo, `${tokenUrl()}/`, [`${careid.issuer}/`]]) {
          await refused(sign(client, claims(client, { aud })))
        }
      })

      it('refuses an aud array naming anyone besides this provider, even alongside the token endpoint', async () => {
        for (const aud of [[tokenUrl(), 'https://evil.example'], ['https://evil.example', careid.issuer], [careid.issuer, tokenUrl(), careid.provider.endpoints.userinfo]]) {
          await refused(sign(client, claims(client, { aud })))
        }
      })

      it('refuses an iss or sub that is not the client_id', async () => {
        const other = clients.RS512.client_id
        await refused(sign(client, claims(client, { iss: other })))
        await refused(sign(client, claims(client, { sub: other })))
        // Without client_id in the body, iss names the other client, whose key did not sign it.
        await refused(sign(client, claims(client, { iss: other, sub: other })), client, false)
        // The client_id in the body is another private_key_jwt client's.
        await refused(sign(client, claims(client)), clients.RS512)
      })

      it('refuses garbage', async () => {
        const truncated = (await sign(client, claims(client))).slice(0, -10)
        for (const garbage of ['garbage', 'a.b.c', truncated]) {
          await refused(garbage)
          await refused(garbage, client, false)
        }
      })

      it('refuses the second use of an assertion (jti replay)', async () => {
        const assertion = await sign(client, claims(client))
        await redeems(client, assertion)
        await refused(assertion)
      })

      it('refuses a wrong or missing client_assertion_type: 400 invalid_request', async () => {
        const assertion = await sign(client, claims(client))
        for (const type of ['urn:ietf:params:oauth:client-assertion-type:saml2-bearer', 'jwt', undefined]) {
          const response = await postForm(tokenUrl(), grant(client, code, { ...auth(client, assertion), client_assertion_type: type }))
          await expectJsonError(response, { status: 400, error: 'invalid_request' })
        }
        // The right type with no assertion is a missing parameter.
        const missing = await postForm(tokenUrl(), grant(client, code, { client_id: client.client_id, client_assertion_type: assertionType }))
        await expectJsonError(missing, { status: 400, error: 'invalid_request' })
        assert.equal(codeRedeemed(careid, code), false)
      })

      it('still redeems the code with a good assertion, once', async () => {
        await redeems(client, await sign(client, claims(client)), code)
        const again = await postForm(tokenUrl(), grant(client, code, auth(client, await sign(client, claims(client)))))
        await expectJsonError(again, { status: 400, error: 'invalid_grant' })
      })
    })

    describe('at introspection and revocation', () => {
      let client: KeyClient
      let accessToken: string

      before(async () => {
        client = clients.PS256
        accessToken = (await redeems(client, await sign(client, claims(client)))).access_token
      })

      const introspect = async (assertion: string) => postForm(careid.provider.endpoints.introspection, { token: accessToken, ...auth(client, assertion) })

      it('introspects with an assertion whose aud is the introspection endpoint, the token endpoint or the issuer', async () => {
        for (const aud of [careid.provider.endpoints.introspection, tokenUrl(), careid.issuer]) {
          const response = await introspect(await sign(client, claims(client, { aud })))
          assert.equal(response.status, 200)
          const body = (await response.json()) as { active: boolean; client_id?: string }
          assert.equal(body.active, true)
          assert.equal(body.client_id, client.client_id)
        }
      })

      it('refuses a bad assertion at both endpoints: 401 invalid_client, and revokes nothing', async () => {
        for (const bad of [unsignedJwt({ kid: client.kid, typ: 'JWT' }, claims(client)), await sign(client, claims(client), { key: stranger })]) {
          await expectJsonError(await introspect(bad), { status: 401, error: 'invalid_client', description: jwtNotValid, secrets: [accessToken] })
          const revoke = await postForm(careid.provider.endpoints.revocation, { token: accessToken, ...auth(client, bad) })
          await expectJsonError(revoke, { status: 401, error: 'invalid_client', description: jwtNotValid, secrets: [accessToken] })
        }
        const still = await introspect(await sign(client, claims(client)))
        assert.equal(((await still.json()) as { active: boolean }).active, true, 'the token was not revoked')
      })

      it('revokes with a good assertion', async () => {
        const revoke = await postForm(careid.provider.endpoints.revocation, { token: accessToken, ...auth(client, await sign(client, claims(client, { aud: careid.provider.endpoints.revocation }))) })
        assert.equal(revoke.status, 200)
        const after = await introspect(await sign(client, claims(client)))
        assert.deepEqual(await after.json(), { active: false })
        const userinfo = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } })
        await expectJsonError(userinfo, { status: 401, error: 'invalid_token' })
      })
    })
  })
})
