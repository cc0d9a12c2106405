/**
 * The conformance suite's part for `Store.sessions`: SSO sessions, their lifetimes and the clients
 * that share them.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, MINUTE, RACERS, session, race, sortedBy, type StoreTest } from './fixtures.ts'

export function sessionsConformance(test: StoreTest): void {
  describe('sessions', () => {
    const bound = (hash: string) => session(hash, { selected_roleid: 'R8000', clients: ['client-a', 'client-b'], binding: 'card-1' })

    test('round-trips by hash and by sid, with and without optional fields', async (store) => {
      await store.sessions.create(bound('h1'))
      await store.sessions.create(session('h2'))
      assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), bound('h1'))
      assert.deepStrictEqual(await store.sessions.get('h2'), session('h2'))
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h2'), session('h2'))
      assert.equal(await store.sessions.get('nope'), undefined)
      assert.equal(await store.sessions.getBySid('nope'), undefined)
    })

    test('touch moves last_seen_at and idle_expires_at forward, never back', async (store) => {
      await store.sessions.create(bound('h1'))
      assert.equal(await store.sessions.touch('h1', T + 10, T + 40 * MINUTE), true)
      const touched = { ...bound('h1'), last_seen_at: T + 10, idle_expires_at: T + 40 * MINUTE }
      assert.deepStrictEqual(await store.sessions.get('h1'), touched)
      assert.equal(await store.sessions.touch('h1', T + 5, T + 35 * MINUTE), true)
      assert.deepStrictEqual(await store.sessions.get('h1'), touched)
      assert.equal(await store.sessions.touch('nope', T, T), false)
    })

    test('addClient appends once, keeping order', async (store) => {
      await store.sessions.create(session('h1'))
      assert.equal(await store.sessions.addClient('h1', 'client-b'), true)
      assert.equal(await store.sessions.addClient('h1', 'client-a'), true)
      assert.equal(await store.sessions.addClient('h1', 'client-b'), true)
      assert.deepStrictEqual(await store.sessions.get('h1'), session('h1', { clients: ['client-b', 'client-a'] }))
      assert.equal(await store.sessions.addClient('nope', 'client-a'), false)
    })

    test('concurrent addClient calls lose no client', async (store) => {
      await store.sessions.create(session('h1'))
      const ids = Array.from({ length: 10 }, (_, i) => `client-${i}`)
      await Promise.all([...ids, ...ids].map((id) => store.sessions.addClient('h1', id)))
      assert.deepStrictEqual([...((await store.sessions.get('h1'))?.clients ?? [])].sort(), [...ids].sort())
    })

    test('setSelectedRole sets and replaces the role', async (store) => {
      await store.sessions.create(session('h1'))
      assert.equal(await store.sessions.setSelectedRole('h1', 'R1'), true)
      assert.equal(await store.sessions.setSelectedRole('h1', 'R2'), true)
      assert.deepStrictEqual(await store.sessions.get('h1'), session('h1', { selected_roleid: 'R2' }))
      assert.equal(await store.sessions.setSelectedRole('nope', 'R1'), false)
    })

    test('reauthenticate replaces the authentication facts and keeps sid, clients and role', async (store) => {
      await store.sessions.create(bound('h1'))
      const changes = { session_hash: 'h1', amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-2' }
      assert.equal(await store.sessions.reauthenticate('h1', changes), true)
      assert.deepStrictEqual(await store.sessions.get('h1'), { ...bound('h1'), ...changes })
      const { binding: _dropped, ...unbound } = changes
      assert.equal(await store.sessions.reauthenticate('h1', unbound), true)
      const { binding: _gone, ...expected } = { ...bound('h1'), ...unbound }
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), expected)
      assert.equal(await store.sessions.reauthenticate('nope', changes), false)
    })

    test('reauthenticate to a new hash moves the session: the old hash finds nothing, the sid and binding find the new one', async (store) => {
      await store.sessions.create(bound('h1'))
      const changes = { session_hash: 'h2', amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-1' }
      assert.equal(await store.sessions.reauthenticate('h1', changes), true)
      const moved = { ...bound('h1'), ...changes }
      assert.deepStrictEqual(await store.sessions.get('h2'), moved)
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), moved)
      assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [moved])
      assert.deepStrictEqual(await store.sessions.listExpired(T + 45 * MINUTE, 10), [moved])
      assert.equal(await store.sessions.get('h1'), undefined)
      assert.equal(await store.sessions.touch('h1', T + 60, T + 50 * MINUTE), false)
      assert.equal(await store.sessions.addClient('h1', 'client-z'), false)
      assert.equal(await store.sessions.setSelectedRole('h1', 'R1'), false)
      assert.equal(await store.sessions.reauthenticate('h1', { ...changes, session_hash: 'h3' }), false)
      assert.equal(await store.sessions.remove('h1'), undefined)
      assert.deepStrictEqual(await store.sessions.remove('h2'), moved)
      assert.equal(await store.sessions.getBySid('sid-h1'), undefined)
      assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [])
    })

    test(`${RACERS} concurrent reauthentications to new hashes: exactly one moves the session`, async (store) => {
      await store.sessions.create(bound('h1'))
      const changes = { amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-1' }
      const results = await race(RACERS, (i) => store.sessions.reauthenticate('h1', { ...changes, session_hash: `new-${i}` }))
      const winners = results.flatMap((moved, i) => (moved ? [i] : []))
      assert.equal(winners.length, 1)
      const moved = { ...bound('h1'), ...changes, session_hash: `new-${winners[0]}` }
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), moved)
      for (let i = 0; i < RACERS; i++) if (i !== winners[0]) assert.equal(await store.sessions.get(`new-${i}`), undefined)
      assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [moved])
    })

    test("reauthenticate refuses to move a session onto another session's hash, changing nothing", async (store) => {
      await store.sessions.create(bound('h1'))
      await store.sessions.create(session('h2'))
      const changes = { session_hash: 'h2', amr: ['PWD'], aal: 1 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE }
      await assert.rejects(store.sessions.reauthenticate('h1', changes))
      assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
      assert.deepStrictEqual(await store.sessions.get('h2'), session('h2'))
      assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), bound('h1'))
    })

    test('remove returns the session once', async (store) => {
      await store.sessions.create(bound('h1'))
      assert.deepStrictEqual(await store.sessions.remove('h1'), bound('h1'))
      assert.equal(await store.sessions.remove('h1'), undefined)
      assert.equal(await store.sessions.get('h1'), undefined)
      assert.equal(await store.sessions.getBySid('sid-h1'), undefined)
    })

    test(`${RACERS} concurrent removes: exactly one gets the session`, async (store) => {
      await store.sessions.create(bound('h1'))
      const results = await race(RACERS, () => store.sessions.remove('h1'))
      const got = results.filter((r) => r !== undefined)
      assert.deepStrictEqual(got, [bound('h1')])
    })

    test('listByBinding returns the sessions bound to it', async (store) => {
      await store.sessions.create(session('h1', { binding: 'card-1' }))
      await store.sessions.create(session('h2', { binding: 'card-1', created_at: T + 1 }))
      await store.sessions.create(session('h3', { binding: 'card-2' }))
      await store.sessions.create(session('h4'))
      const listed = sortedBy(await store.sessions.listByBinding('card-1'), (s) => s.session_hash)
      assert.deepStrictEqual(listed, [session('h1', { binding: 'card-1' }), session('h2', { binding: 'card-1', created_at: T + 1 })])
      assert.deepStrictEqual(await store.sessions.listByBinding('card-9'), [])
    })

    test('listBySub returns a person\'s sessions, oldest first, for their whole life', async (store) => {
      const later = session('h2', { created_at: T + 1, binding: 'card-1' })
      await store.sessions.create(later)
      await store.sessions.create(session('h1'))
      await store.sessions.create(session('h3', { sub: '555000000002' }))
      assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [session('h1'), later])
      const changes = { session_hash: 'h4', amr: ['PWD'], aal: 1 as const, auth_time: T + 9, last_seen_at: T + 9, expires_at: T + 60 * MINUTE, idle_expires_at: T + 20 * MINUTE }
      assert.equal(await store.sessions.reauthenticate('h2', changes), true)
      const { binding: _unbound, ...reauthenticated } = { ...later, ...changes }
      assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [session('h1'), reauthenticated])
      await store.sessions.remove('h1')
      assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [reauthenticated])
      assert.deepStrictEqual(await store.sessions.listBySub('555000000009'), [])
    })

    test('listExpired lists sessions past either limit, soonest first, without deleting', async (store) => {
      const absolute = session('abs', { expires_at: T, idle_expires_at: T + MINUTE })
      const idle = session('idle', { expires_at: T + MINUTE, idle_expires_at: T - 2 })
      const older = session('older', { expires_at: T - 5, idle_expires_at: T - 5 })
      const live = session('live', { expires_at: T + 1, idle_expires_at: T + 1 })
      for (const s of [absolute, idle, older, live]) await store.sessions.create(s)
      assert.deepStrictEqual(await store.sessions.listExpired(T, 10), [older, idle, absolute])
      assert.deepStrictEqual(await store.sessions.listExpired(T, 2), [older, idle])
      assert.deepStrictEqual(await store.sessions.get('idle'), idle, 'listing deletes nothing')
      assert.deepStrictEqual(await store.sessions.listExpired(T - 6, 10), [])
    })

    test('returns fresh objects', async (store) => {
      await store.sessions.create(bound('h1'))
      const got = await store.sessions.get('h1')
      got?.clients.push('client-z')
      got?.amr.push('X')
      assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
    })
  })
}
