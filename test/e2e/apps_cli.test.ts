/**
 * `careid apps` as an administrator runs it, on a data directory: an application registered with
 * the API Platform gets an API key in the platform's shape and a secret printed once (only its
 * hash is stored); show and list never print it; remove deletes it; every change is audited with
 * its actor; mistakes are refused with a precise message and exit code 2, storing nothing.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { sha256 } from '@careid/oidc'
import { adminWorkspace, ok, refused, withStore } from '../support/cli.ts'

const { dir, dataDir, careid } = adminWorkspace('careid-apps-cli-')
const apps = (...args: string[]) => careid('apps', ...args)
const pdsAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
const pdsLevel3 = 'urn:nhsd:apim:app:level3:personal-demographics-service'
const publicJwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'gp-key-1', alg: 'RS512' }

describe('careid apps', { concurrency: 1 }, () => {
  let wardKey = ''
  let wardSecret = ''
  let gpKey = ''

  it('add prints an API key in the platform shape and the secret once, and stores only its hash', async () => {
    const out = ok(await apps('add', '--name', 'Ward rounds', '--callback-url', 'https://ward.example.test/callback', '--product', pdsAal3, '--product', pdsAal2))
    wardKey = /^ {2}API key \(client_id\): ([A-Za-z0-9]{32})$/m.exec(out)?.[1] ?? ''
    wardSecret = /^ {2}secret: {14}([A-Za-z0-9_-]{43})$/m.exec(out)?.[1] ?? ''
    assert.notEqual(wardKey, '', out)
    assert.notEqual(wardSecret, '', out)
    assert.equal(
      out,
      'Registered Ward rounds with the API Platform.\n' +
        `  API key (client_id): ${wardKey}\n` +
        `  secret:              ${wardSecret}\n` +
        '  Keep the secret now: Careid stores only a hash of it and cannot show it again.\n' +
        `  personal-demographics-service: ${pdsAal3} ${pdsAal2}\n`,
    )
    await withStore(dataDir, async (store) => {
      const stored = await store.apps.get(wardKey)
      assert.equal(stored?.secret_hash, sha256(wardSecret))
      const [added] = await store.audit.recent(1)
      assert.equal(added?.type, 'app.added')
      assert.equal(added?.subject, wardKey)
      assert.match(added?.actor ?? '', /^cli:/)
    })
  })

  it('show never prints the secret or its hash', async () => {
    const out = ok(await apps('show', wardKey))
    assert.equal(out.includes(wardSecret), false)
    assert.equal(out.includes(sha256(wardSecret)), false)
    const shown = JSON.parse(out) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(shown).sort(), ['api_key', 'callback_urls', 'created_at', 'name', 'subscriptions'])
    assert.equal(shown.api_key, wardKey)
    assert.equal(shown.name, 'Ward rounds')
    assert.deepStrictEqual(shown.callback_urls, ['https://ward.example.test/callback'])
    assert.deepStrictEqual(shown.subscriptions, [{ product: 'personal-demographics-service', scopes: [pdsAal3, pdsAal2] }])
    assert.match(shown.created_at as string, /^\d{4}-\d\d-\d\dT/)
  })

  it('add --jwks <file> --json keeps the keys for signed JWTs, with an application-restricted scope; the secret once, never its hash', async () => {
    const jwksFile = join(dir, 'jwks.json')
    writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }))
    const added = JSON.parse(ok(await apps('add', '--name', 'GP system', '--callback-url', 'http://localhost:3000/cb', '--product', pdsLevel3, '--jwks', jwksFile, '--json'))) as Record<string, unknown>
    gpKey = added.api_key as string
    assert.match(gpKey, /^[A-Za-z0-9]{32}$/)
    assert.match(added.secret as string, /^[A-Za-z0-9_-]{43}$/)
    assert.equal('secret_hash' in added, false)
    assert.deepStrictEqual(added.jwks, { keys: [publicJwk] })
    assert.deepStrictEqual(added.subscriptions, [{ product: 'personal-demographics-service', scopes: [pdsLevel3] }])
  })

  it('refuses bad input with a precise message (exit 2) and stores nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--callback-url', 'http://ward.example.test/cb', '--product', pdsAal3], /^careid: callback URL must use https \(http is allowed only on localhost\): http:\/\/ward\.example\.test\/cb\n$/],
      [['--callback-url', 'https://ward.example.test/cb', '--product', 'urn:nhsd:apim:user-nhs-cis2:aal1:personal-demographics-service'], /^careid: unknown product scope urn:nhsd:apim:user-nhs-cis2:aal1:personal-demographics-service; known scopes: /],
      [['--callback-url', 'https://ward.example.test/cb', '--product', pdsLevel3], /^careid: urn:nhsd:apim:app:level3:personal-demographics-service is application-restricted, reached only with a signed JWT: give the application's public keys \(a JWKS URL or an inline JWKS\)\n$/],
      [['--callback-url', 'https://ward.example.test/cb', '--product', pdsLevel3, '--jwks', '{"keys":[{"kty":"EC","kid":"k"}]}'], /^careid: every JWK must be an RSA public key \("kty": "RSA" with "n" and "e"\): client assertions are signed with RS512\n$/],
      [['--callback-url', 'https://ward.example.test/cb', '--product', pdsLevel3, '--jwks', join(dir, 'no-such-file.json')], /^careid: --jwks: cannot read the file .*no-such-file\.json/],
    ]
    for (const [args, message] of cases) refused(await apps('add', '--name', 'Bad app', ...args), message)
    const missing = await apps('add', '--name', 'No product', '--callback-url', 'https://ward.example.test/cb')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /required option '--product <scope>' not specified/)
    // The list below has exactly the two good applications: none of these was stored.
  })

  it('list shows every application, its products and name, and no secret', async () => {
    const out = ok(await apps('list'))
    const lines = out.trim().split('\n').sort()
    assert.deepStrictEqual(
      lines,
      [`${gpKey}  ${'personal-demographics-service'.padEnd(30)} GP system`, `${wardKey}  ${'personal-demographics-service'.padEnd(30)} Ward rounds`].sort(),
    )
    assert.equal(out.includes(wardSecret), false)
  })

  it('remove deletes the application, audited; show and remove then say it is not registered (exit 2)', async () => {
    assert.equal(ok(await apps('remove', wardKey)), `Removed ${wardKey}.\n`)
    refused(await apps('show', wardKey), new RegExp(`^careid: no application with the API key ${wardKey} is registered\n$`))
    refused(await apps('remove', wardKey), new RegExp(`^careid: no application with the API key ${wardKey} is registered\n$`))
    await withStore(dataDir, async (store) => {
      assert.equal(await store.apps.get(wardKey), undefined)
      const [removed] = await store.audit.recent(1)
      assert.equal(removed?.type, 'app.removed')
      assert.equal(removed?.subject, wardKey)
    })
  })
})
