/**
 * The conformance suite's part for `Store.apps`: API Platform applications.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { ApplicationRecord } from '@careid/ports'
import { T, type StoreTest } from './fixtures.ts'

/** An application with no keys (user-restricted, combined pattern only). */
function application(apiKey: string, changes: Partial<ApplicationRecord> = {}): ApplicationRecord {
  return {
    api_key: apiKey,
    name: `App ${apiKey}`,
    secret_hash: `hash-of-${apiKey}`,
    callback_urls: [`https://${apiKey.toLowerCase()}.example/callback`],
    subscriptions: [{ product: 'personal-demographics-service', scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'] }],
    created_at: T,
    ...changes,
  }
}

/** An application with every field: several callbacks, inline keys and a JWKS URL, two products. */
function fullApplication(apiKey: string): ApplicationRecord {
  return application(apiKey, {
    callback_urls: [`https://${apiKey.toLowerCase()}.example/callback`, 'http://localhost:3000/callback'],
    jwks_uri: `https://${apiKey.toLowerCase()}.example/jwks.json`,
    jwks: { keys: [{ kty: 'RSA', kid: 'app-key-1', n: 'AQAB', e: 'AQAB', use: 'sig', alg: 'RS512' }] },
    subscriptions: [
      {
        product: 'personal-demographics-service',
        scopes: [
          'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service',
          'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service',
          'urn:nhsd:apim:app:level3:personal-demographics-service',
        ],
      },
      { product: 'sample-aal3-api', scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'] },
    ],
  })
}

export function appsConformance(test: StoreTest): void {
  describe('apps', () => {
    test('round-trips an application with every field', async (store) => {
      await store.apps.put(fullApplication('A1'))
      assert.deepStrictEqual(await store.apps.get('A1'), fullApplication('A1'))
    })

    test('round-trips an application without keys, leaving jwks_uri and jwks absent', async (store) => {
      await store.apps.put(application('A1'))
      const stored = await store.apps.get('A1')
      assert.deepStrictEqual(stored, application('A1'))
      assert.equal(stored !== undefined && ('jwks_uri' in stored || 'jwks' in stored), false)
    })

    test('get of an unknown API key is undefined', async (store) => {
      assert.equal(await store.apps.get('nobody'), undefined)
    })

    test('put replaces by api_key, dropping fields the new record lacks', async (store) => {
      await store.apps.put(fullApplication('A1'))
      const replacement = application('A1', { name: 'Renamed', callback_urls: ['https://a1.example/new'] })
      await store.apps.put(replacement)
      assert.deepStrictEqual(await store.apps.get('A1'), replacement)
      assert.equal((await store.apps.list()).length, 1)
    })

    test('list returns every application, ordered by API key', async (store) => {
      await store.apps.put(application('C3'))
      await store.apps.put(fullApplication('A1'))
      await store.apps.put(application('B2'))
      assert.deepStrictEqual(await store.apps.list(), [fullApplication('A1'), application('B2'), application('C3')])
    })

    test('list of an empty store is empty', async (store) => {
      assert.deepStrictEqual(await store.apps.list(), [])
    })

    test('remove is true once, then false', async (store) => {
      await store.apps.put(application('A1'))
      await store.apps.put(application('B2'))
      assert.equal(await store.apps.remove('A1'), true)
      assert.equal(await store.apps.remove('A1'), false)
      assert.equal(await store.apps.get('A1'), undefined)
      assert.deepStrictEqual(await store.apps.list(), [application('B2')])
    })

    test('returns fresh objects', async (store) => {
      await store.apps.put(fullApplication('A1'))
      const first = await store.apps.get('A1')
      assert.ok(first)
      first.name = 'mutated'
      first.callback_urls.push('https://evil.example/')
      first.subscriptions[0]?.scopes.push('urn:nhsd:apim:app:level3:other')
      first.jwks?.keys.push('x')
      assert.deepStrictEqual(await store.apps.get('A1'), fullApplication('A1'))
    })

    test('a unit of work that throws after writing an application keeps none of it', async (store) => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.apps.put(application('A1'))
          throw new Error('the work failed')
        }),
        /the work failed/,
      )
      assert.equal(await store.apps.get('A1'), undefined)
    })

    test('a unit of work commits an application with its audit entry', async (store) => {
      await store.transaction(async (tx) => {
        await tx.apps.put(application('A1'))
        await tx.audit.append({ at: T, type: 'app.added', actor: 'cli:ra', subject: 'A1' })
      })
      assert.deepStrictEqual(await store.apps.get('A1'), application('A1'))
      assert.deepStrictEqual(await store.audit.recent(1), [{ at: T, type: 'app.added', actor: 'cli:ra', subject: 'A1' }])
    })
  })
}
