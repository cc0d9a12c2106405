/**
 * A native application (a program that is not a browser app) calling the Patient API by the
 * separate pattern (cis2.md 5.3, 6.3), written the way a supplier would write it against the real
 * CIS2 and API Platform, with only the base URLs Careid's:
 * - it signs the worker in through the system browser (RFC 8252 section 6), catching the code on a
 *   loopback redirect `http://127.0.0.1:{port}/callback` it listens on itself (RFC 8252 7.3), as a
 *   public client with PKCE S256 (RFC 7636), `state` and `nonce`;
 * - it redeems the code at CIS2 with its `code_verifier` and no secret (a distributed binary keeps
 *   none, cis2.md 5.3), and checks the ID token against CIS2's published keys;
 * - it exchanges the ID token at the platform's `/oauth2/token` (RFC 8693), authenticated by a
 *   client assertion signed RS512 with the key registered with the platform (inline JWKS, by kid);
 * - it calls the Patient API with the platform's access token.
 * Each step answers what it received, so a test can check every byte of it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose'

export interface NativeAppConfig {
  /** CIS2's issuer; its endpoints are read from its discovery document. */
  issuer: string
  /** The application's client id at CIS2 (a public client: no secret). */
  cis2ClientId: string
  /** The API Platform's base URL (`https://int.api.service.nhs.uk` on the real one). */
  apiBaseUrl: string
  /** The application's API key at the platform (`iss` and `sub` of its client assertions). */
  apiKey: string
  /** The private half of the key registered with the platform, and its kid in the registered JWKS. */
  privateKey: CryptoKey
  kid: string
  /** Opens the system browser at a URL. */
  openBrowser(url: string): Promise<void>
}

export interface Answer {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

export interface SignedIn {
  /** CIS2's token response. */
  tokens: Record<string, unknown>
  idToken: string
  /** The ID token's claims, its signature, issuer, audience and nonce checked. */
  claims: JWTPayload
}

/** A loopback redirect listener: catches one redirect to `/callback`, on a port the system chose. */
export class LoopbackRedirect {
  readonly #server: Server
  readonly #received: Promise<URLSearchParams>

  private constructor(server: Server, received: Promise<URLSearchParams>) {
    this.#server = server
    this.#received = received
  }

  /** Listens on 127.0.0.1 only (RFC 8252 8.3: the loopback IP literal, not `localhost`), on any free port. */
  static async open(): Promise<LoopbackRedirect> {
    let resolve: (query: URLSearchParams) => void = () => undefined
    const received = new Promise<URLSearchParams>((r) => (resolve = r))
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      if (request.method !== 'GET' || url.pathname !== '/callback') {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Signed in</title><p>You can close this window and return to the application.</p>')
      resolve(url.searchParams)
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    return new LoopbackRedirect(server, received)
  }

  get redirectUri(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/callback`
  }

  /** The query of the first redirect received. */
  received(): Promise<URLSearchParams> {
    return this.#received
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((done) => this.#server.close(() => done()))
  }
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url')
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

export class NativeApp {
  readonly #config: NativeAppConfig

  constructor(config: NativeAppConfig) {
    this.#config = config
  }

  /**
   * Signs the worker in through the system browser: the authorization request with PKCE, state and
   * nonce; the code caught on `loopback`; the code redeemed with the verifier; the ID token checked.
   * The person at the browser signs in while this waits.
   */
  async signIn(loopback: LoopbackRedirect, options: { scope: string; acr_values: string }): Promise<SignedIn> {
    const discovery = (await (await fetch(`${this.#config.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string; token_endpoint: string; jwks_uri: string }
    const verifier = base64url(randomBytes(32))
    const state = randomUUID()
    const nonce = base64url(randomBytes(16))
    const url = new URL(discovery.authorization_endpoint)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.#config.cis2ClientId,
      redirect_uri: loopback.redirectUri,
      scope: options.scope,
      acr_values: options.acr_values,
      state,
      nonce,
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    }).toString()
    await this.#config.openBrowser(url.href)
    const query = await loopback.received()
    // RFC 6749 10.12: a redirect whose state is not the one sent is not this sign-in's.
    if (query.get('state') !== state) throw new Error('the redirect carried another state')
    const code = query.get('code')
    if (code === null) throw new Error(`the sign-in failed: ${query.get('error')} ${query.get('error_description')}`)
    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: loopback.redirectUri, client_id: this.#config.cis2ClientId, code_verifier: verifier }),
    })
    const tokens = (await response.json()) as Record<string, unknown>
    if (response.status !== 200) throw new Error(`CIS2 refused the code: ${response.status} ${String(tokens.error)}`)
    const idToken = tokens.id_token as string
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: this.#config.issuer, audience: this.#config.cis2ClientId })
    if (payload.nonce !== nonce) throw new Error('the ID token carried another nonce')
    return { tokens, idToken, claims: payload }
  }

  /** cis2.md 6.3 step 2: iss = sub = the API key, aud the platform's token URL, a fresh jti, exp within 5 minutes. */
  clientAssertion(): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: this.#config.kid })
      .setIssuer(this.#config.apiKey)
      .setSubject(this.#config.apiKey)
      .setAudience(`${this.#config.apiBaseUrl}/oauth2/token`)
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
      .sign(this.#config.privateKey)
  }

  /** cis2.md 6.3 step 3: the CIS2 ID token for the platform's tokens. */
  async exchange(idToken: string): Promise<Answer> {
    const response = await fetch(`${this.#config.apiBaseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        subject_token: idToken,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await this.clientAssertion(),
      }),
    })
    return answerOf(response)
  }

  /** GET /Patient/{nhsNumber} at the Patient API, acting in `roleId` when given (`NHSD-Session-URID`). */
  async readPatient(accessToken: string, nhsNumber: string, requestId: string, roleId?: string): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, 'x-request-id': requestId }
    if (roleId !== undefined) headers['nhsd-session-urid'] = roleId
    return answerOf(await fetch(`${this.#config.apiBaseUrl}/personal-demographics/FHIR/R4/Patient/${nhsNumber}`, { headers }))
  }
}
