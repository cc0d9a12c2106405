/**
 * CIS2 as the platform's tests need it to misbehave: a real HTTP server with CIS2's token, userinfo
 * and JWKS endpoints, signing real JWTs with a real RSA key, whose next ID token the test shapes
 * (a foreign audience or issuer, an unknown kid, a signature by another key). The happy path
 * against Careid's own provider is the end-to-end test's; here each way CIS2's answer can be wrong.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { exportJWK, SignJWT, type JWTPayload } from 'jose'
import type { Cis2Settings } from '../../src/oauth/cis2_provider.ts'

export interface Cis2Double {
  settings: Cis2Settings
  /** The ID token the next code exchange answers with; the test shapes it. */
  nextIdToken: () => Promise<string>
  /** Signs `claims` with CIS2's key (or another), as CIS2 would. */
  sign(claims: JWTPayload, options?: { kid?: string; foreignKey?: boolean; alg?: string }): Promise<string>
  /** The forms the token endpoint received. */
  tokenRequests: URLSearchParams[]
  /** The token endpoint's status: not 200, it refuses the code. */
  tokenStatus: number
  userinfo: { status: number; body: unknown }
  /** The Authorization headers userinfo received. */
  userinfoAuthorizations: string[]
  close(): Promise<void>
}

export async function startCis2Double(): Promise<Cis2Double> {
  // Node key objects, not WebCrypto ones: one RSA key signs RS256 and RS512 alike, as CIS2's may.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'cis2-key-1', use: 'sig' }
  const double: Cis2Double = {
    settings: undefined as unknown as Cis2Settings,
    nextIdToken: async () => '',
    async sign(claims, options = {}) {
      const key: KeyObject = options.foreignKey === true ? other.privateKey : privateKey
      return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'cis2-key-1', typ: 'JWT' }).sign(key)
    },
    tokenRequests: [],
    tokenStatus: 200,
    userinfo: { status: 200, body: { sub: '555000000001', nhsid_nrbac_roles: [{ person_roleid: '555000000101' }] } },
    userinfoAuthorizations: [],
    close: async () => undefined,
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', async () => {
      const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      if (request.url === '/jwks') return json(200, { keys: [jwk] })
      if (request.url === '/token') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString())
        double.tokenRequests.push(form)
        if (double.tokenStatus !== 200) return json(double.tokenStatus, { error: 'invalid_grant', error_description: 'code is invalid' })
        return json(200, { access_token: 'cis2-access-token', token_type: 'Bearer', expires_in: 3600, id_token: await double.nextIdToken() })
      }
      if (request.url === '/userinfo') {
        double.userinfoAuthorizations.push(request.headers.authorization ?? '')
        return json(double.userinfo.status, double.userinfo.body)
      }
      return json(404, { error: 'not_found' })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  double.settings = {
    issuer: `${origin}/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare`,
    authorizationEndpoint: `${origin}/authorize`,
    tokenEndpoint: `${origin}/token`,
    userinfoEndpoint: `${origin}/userinfo`,
    jwksUri: `${origin}/jwks`,
    clientId: '100000000002.apps.national',
    clientSecret: 'the-platform-secret',
  }
  double.close = () => new Promise((resolve) => server.close(() => resolve()))
  return double
}
