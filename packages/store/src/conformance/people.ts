/**
 * The conformance suite's part for `Store.people`: the directory of people.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { sortedBy, type StoreTest } from './fixtures.ts'

export function peopleConformance(test: StoreTest): void {
  describe('people', () => {
    const alice = { uid: '555000000001', name: { given: 'Alice', family: 'Smith' }, roles: [{ id: 'R1', org: 'RX1' }], active: true, note: null }
    const bob = { uid: '555000000002', name: { given: 'Bob', family: 'Jones' }, roles: [], active: false, note: 'x' }

    test('round-trips by uid, by username and in list', async (store) => {
      await store.people.put(alice.uid, 'alice', alice)
      await store.people.put(bob.uid, 'bob', bob)
      assert.deepStrictEqual(await store.people.get(alice.uid), alice)
      assert.deepStrictEqual(await store.people.getByUsername('bob'), bob)
      const listed = sortedBy(await store.people.list(), (p) => JSON.stringify(p))
      assert.deepStrictEqual(listed, sortedBy([alice, bob], (p) => JSON.stringify(p)))
    })

    test('unknown uid and username are undefined', async (store) => {
      await store.people.put(alice.uid, 'alice', alice)
      assert.equal(await store.people.get('nobody'), undefined)
      assert.equal(await store.people.getByUsername('nobody'), undefined)
    })

    test('put replaces by uid and releases the old username', async (store) => {
      await store.people.put(alice.uid, 'alice', alice)
      const renamed = { ...alice, name: { given: 'Alicia', family: 'Smith' } }
      await store.people.put(alice.uid, 'alicia', renamed)
      assert.deepStrictEqual(await store.people.get(alice.uid), renamed)
      assert.deepStrictEqual(await store.people.getByUsername('alicia'), renamed)
      assert.equal(await store.people.getByUsername('alice'), undefined)
      await store.people.put(bob.uid, 'alice', bob)
      assert.deepStrictEqual(await store.people.getByUsername('alice'), bob)
      assert.equal((await store.people.list()).length, 2)
    })

    test('a username taken by another person is refused, changing nothing', async (store) => {
      await store.people.put(alice.uid, 'alice', alice)
      await assert.rejects(store.people.put(bob.uid, 'alice', bob))
      assert.equal(await store.people.get(bob.uid), undefined)
      assert.deepStrictEqual(await store.people.getByUsername('alice'), alice)
      assert.deepStrictEqual(await store.people.list(), [alice])
    })

    test('returns fresh objects', async (store) => {
      await store.people.put(alice.uid, 'alice', alice)
      const got = (await store.people.get(alice.uid)) as { roles: unknown[] }
      got.roles.push('x')
      assert.deepStrictEqual(await store.people.get(alice.uid), alice)
    })
  })
}
