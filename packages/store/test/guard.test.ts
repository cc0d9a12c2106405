import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Store } from '@careid/ports'
import { StoreUnavailable } from '@careid/ports'
import { guardStore } from '../src/guard.ts'
import { openSqliteStore } from '../src/sqlite/sqlite_store.ts'

/** A working store whose backend is unreachable for sessions and people, as in an outage. */
async function partlyDown(): Promise<Store> {
  const store = await openSqliteStore({ path: ':memory:' })
  const down = async (): Promise<never> => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
  }
  return { ...store, sessions: { ...store.sessions, get: down }, people: { ...store.people, list: down } }
}

describe('guardStore', () => {
  it('passes results through, and turns a backend failure into StoreUnavailable carrying its cause', async () => {
    const guarded = guardStore(await partlyDown())
    assert.equal(await guarded.ping(), true)
    assert.equal(await guarded.clients.get('000000000001.apps.national'), undefined)
    assert.equal(await guarded.replay.markUsed('jti:1', 2, 1), true)
    assert.equal(await guarded.replay.has('jti:1', 1), true)

    const failure = await guarded.sessions.get('x').then(
      () => assert.fail('an unreachable backend answered'),
      (error: unknown) => error,
    )
    assert.ok(failure instanceof StoreUnavailable)
    assert.equal(failure.operation, 'sessions.get')
    assert.equal((failure.cause as Error).message, 'connect ECONNREFUSED 127.0.0.1:6379')
    assert.equal(failure.message, 'store call sessions.get failed: connect ECONNREFUSED 127.0.0.1:6379')
    await guarded.close()
  })

  it('guards every method of every part', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    const guarded = guardStore(store) as unknown as Record<string, unknown>
    for (const [name, part] of Object.entries(store)) {
      if (typeof part === 'function') {
        assert.equal(typeof guarded[name], 'function', name)
        continue
      }
      const wrapped = guarded[name] as Record<string, unknown>
      assert.deepEqual(Object.keys(wrapped), Object.keys(part as object), name)
      for (const [method, original] of Object.entries(part as object)) assert.notEqual(wrapped[method], original, `${name}.${method}`)
    }
    await store.close()
  })

  it('keeps a StoreUnavailable thrown by an inner guard as it is', async () => {
    const twice = guardStore(guardStore(await partlyDown()))
    await assert.rejects(twice.people.list(), (error: unknown) => error instanceof StoreUnavailable && error.message === 'store call people.list failed: connect ECONNREFUSED 127.0.0.1:6379')
  })

  it("lets a unit of work's own error through unchanged, and commits nothing of it", async () => {
    const guarded = guardStore(await openSqliteStore({ path: ':memory:' }))
    const refusal = new RangeError('a client 000000000001.apps.national is already registered')
    await assert.rejects(
      guarded.transaction(async (tx) => {
        await tx.audit.append({ at: 1, type: 'client.added', actor: 'cli:ra.whitfield' })
        throw refusal
      }),
      (error: unknown) => error === refusal,
    )
    assert.deepStrictEqual(await guarded.audit.recent(5), [])
    await guarded.close()
  })

  it('turns a backend failure inside a unit of work, and around it, into StoreUnavailable', async () => {
    const store = await partlyDown()
    const down = async (): Promise<never> => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432')
    }
    const unreachable = guardStore({
      ...store,
      transaction: (work) => store.transaction((tx) => work({ ...tx, audit: { ...tx.audit, append: down } })),
    })
    await assert.rejects(
      unreachable.transaction((tx) => tx.audit.append({ at: 1, type: 'client.added' })),
      (error: unknown) => error instanceof StoreUnavailable && error.operation === 'audit.append',
    )
    const cannotBegin = guardStore({ ...store, transaction: down })
    await assert.rejects(
      cannotBegin.transaction(async () => 'never run'),
      (error: unknown) => error instanceof StoreUnavailable && error.operation === 'transaction' && error.message === 'store call transaction failed: connect ECONNREFUSED 127.0.0.1:5432',
    )
    await store.close()
  })
})
