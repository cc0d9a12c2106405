/**
 * The conformance suite's part for `Store.clients`: registered relying parties.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { client, fullClient, sortedBy, type StoreTest } from './fixtures.ts'

export function clientsConformance(test: StoreTest): void {
  describe('clients', () => {
    test('round-trips a client with every field', async (store) => {
      await store.clients.put(fullClient('a'))
      assert.deepStrictEqual(await store.clients.get('a'), fullClient('a'))
    })

    test('round-trips a client without optional fields, leaving them absent', async (store) => {
      await store.clients.put(client('a'))
      assert.deepStrictEqual(await store.clients.get('a'), client('a'))
    })

    test('get of an unknown client is undefined', async (store) => {
      assert.equal(await store.clients.get('nobody'), undefined)
    })

    test('put replaces by client_id, dropping fields the new record lacks', async (store) => {
      await store.clients.put(fullClient('a'))
      const replacement = client('a', { client_name: 'Renamed', redirect_uris: ['https://a.example/new'] })
      await store.clients.put(replacement)
      assert.deepStrictEqual(await store.clients.get('a'), replacement)
      assert.equal((await store.clients.list()).length, 1)
    })

    test('list returns every client', async (store) => {
      await store.clients.put(client('c'))
      await store.clients.put(fullClient('a'))
      await store.clients.put(client('b'))
      const listed = sortedBy(await store.clients.list(), (c) => c.client_id)
      assert.deepStrictEqual(listed, [fullClient('a'), client('b'), client('c')])
    })

    test('list of an empty store is empty', async (store) => {
      assert.deepStrictEqual(await store.clients.list(), [])
    })

    test('remove is true once, then false', async (store) => {
      await store.clients.put(client('a'))
      await store.clients.put(client('b'))
      assert.equal(await store.clients.remove('a'), true)
      assert.equal(await store.clients.remove('a'), false)
      assert.equal(await store.clients.get('a'), undefined)
      assert.deepStrictEqual(await store.clients.list(), [client('b')])
    })

    test('returns fresh objects', async (store) => {
      await store.clients.put(fullClient('a'))
      const first = await store.clients.get('a')
      assert.ok(first)
      first.client_name = 'mutated'
      first.redirect_uris.push('https://evil.example/')
      first.jwks?.keys.push('x')
      assert.deepStrictEqual(await store.clients.get('a'), fullClient('a'))
    })
  })
}
