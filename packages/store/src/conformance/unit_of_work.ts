/**
 * The conformance suite's part for `Store.transaction`, the unit of work: what a unit writes
 * commits together or not at all, and no other caller sees it before it commits.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { AuditEvent, ClientRecord, GrantRecord, SigningKeyRecord } from '@careid/ports'
import { MINUTE, T, type StoreTest } from './fixtures.ts'

/** How long a test lets a call that should wait for a unit show that it does not. */
const SETTLE_MS = 200

function client(id: string): ClientRecord {
  return {
    client_id: id,
    client_name: `Client ${id}`,
    redirect_uris: [`https://${id}.example/callback`],
    post_logout_redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    client_secret_hash: 'c2VjcmV0LWhhc2g',
    refresh_tokens: false,
    created_at: T,
  }
}

function added(id: string): AuditEvent {
  return { at: T, type: 'client.added', actor: 'cli:ra.whitfield', subject: id, client_id: id, after_digest: `digest-of-${id}` }
}

function activeKey(kid: string): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    public_jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid, alg: 'ES256', use: 'sig' },
    private_jwk_encrypted: 'envelope',
    state: 'active',
    created_at: T,
    activate_at: T,
  }
}

const grant: GrantRecord = {
  grant_id: 'g1',
  client_id: 'client-a',
  sub: '555000000001',
  sid: 'sid-1',
  scope: 'openid',
  created_at: T,
  expires_at: T + 60 * MINUTE,
}

/** A promise and the functions that settle it, for a test to hold a unit open. */
function gate(): { opened: Promise<void>; open(): void; fail(error: Error): void } {
  let open!: () => void
  let fail!: (error: Error) => void
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve
    fail = reject
  })
  return { opened, open, fail }
}

/** Whether `promise` settles within `ms` (it keeps running either way). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ])
  clearTimeout(timer)
  return settled
}

class Injected extends Error {
  override name = 'Injected'
}

export function unitOfWorkConformance(test: StoreTest): void {
  describe('unit of work', () => {
    test('a change and its audit entry commit together, and the work reads its own writes', async (store) => {
      const result = await store.transaction(async (tx) => {
        await tx.clients.put(client('a'))
        await tx.audit.append(added('a'))
        return (await tx.clients.get('a'))?.client_name
      })
      assert.equal(result, 'Client a')
      assert.deepStrictEqual(await store.clients.get('a'), client('a'))
      assert.deepStrictEqual(await store.audit.recent(5), [added('a')])
    })

    test('a failure thrown between the change and its audit entry leaves neither', async (store) => {
      const failure = new Injected('between the change and its audit entry')
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.clients.put(client('a'))
          throw failure
        }),
        (error) => error === failure,
      )
      assert.equal(await store.clients.get('a'), undefined)
      assert.deepStrictEqual(await store.audit.recent(5), [])
    })

    test('a failure thrown after the audit entry leaves neither the change nor the entry', async (store) => {
      await store.clients.put(client('kept'))
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.clients.remove('kept')
          await tx.clients.put(client('a'))
          await tx.audit.append(added('a'))
          throw new Injected('after the audit entry')
        }),
        Injected,
      )
      assert.deepStrictEqual(await store.clients.list(), [client('kept')])
      assert.deepStrictEqual(await store.audit.recent(5), [])
    })

    test('a call that fails inside a unit spoils it, even when the work catches the failure', async (store) => {
      await store.keys.put(activeKey('k1'))
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.clients.put(client('a'))
          // The contract rejects a second active key.
          await tx.keys.put(activeKey('k2')).catch(() => undefined)
          await tx.audit.append(added('a'))
        }),
      )
      assert.equal(await store.clients.get('a'), undefined)
      assert.deepStrictEqual(await store.keys.list(), [activeKey('k1')])
      assert.deepStrictEqual(await store.audit.recent(5), [])
    })

    test('a call that is a transaction of its own joins the unit and rolls back with it', async (store) => {
      await store.grants.put(grant)
      await assert.rejects(
        store.transaction(async (tx) => {
          assert.equal(await tx.grants.revokeBySid('sid-1', T + 1), 1)
          await tx.audit.append({ at: T + 1, type: 'sessions.ended_by_admin', actor: 'cli:ra.whitfield', subject: '555000000001' })
          throw new Injected('before commit')
        }),
        Injected,
      )
      assert.deepStrictEqual(await store.grants.get('g1'), grant)
      assert.deepStrictEqual(await store.audit.recent(5), [])
    })

    test("calls outside a unit never see its uncommitted writes, and are not rolled back with it", async (store) => {
      const held = gate()
      const written = gate()
      const unit = store.transaction(async (tx) => {
        await tx.clients.put(client('a'))
        written.open()
        await held.opened
      })
      await written.opened
      const read = store.clients.get('a')
      const put = store.clients.put(client('b'))
      // Where calls run beside the unit they finish now; where the adapter holds them back they wait.
      await settlesWithin(Promise.all([read, put]), SETTLE_MS)
      held.fail(new Injected('the unit fails after the outside calls began'))
      await assert.rejects(unit, Injected)
      assert.equal(await read, undefined)
      await put
      assert.deepStrictEqual(await store.clients.list(), [client('b')])
    })

    test("concurrent units do not see each other's uncommitted writes", async (store) => {
      const held = gate()
      const written = gate()
      const first = store.transaction(async (tx) => {
        await tx.clients.put(client('a'))
        await tx.audit.append(added('a'))
        written.open()
        await held.opened
      })
      await written.opened
      const second = store.transaction(async (tx) => {
        const seen = await tx.clients.get('a')
        await tx.clients.put(client('b'))
        await tx.audit.append(added('b'))
        return seen
      })
      const ranBeside = await settlesWithin(second, SETTLE_MS)
      held.open()
      await first
      // A unit that ran beside the first saw nothing of it; one the adapter held back ran after the
      // first committed, and saw what it committed.
      assert.deepStrictEqual(await second, ranBeside ? undefined : client('a'))
      assert.deepStrictEqual(await store.clients.list(), [client('a'), client('b')])
      assert.deepStrictEqual(
        (await store.audit.recent(5)).map((event) => event.subject).sort(),
        ['a', 'b'],
      )
    })

    test('many units at once each commit whole', async (store) => {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.clients.put(client(`c${i}`))
            await tx.audit.append(added(`c${i}`))
          }),
        ),
      )
      assert.equal((await store.clients.list()).length, 10)
      assert.equal((await store.audit.recent(20)).length, 10)
    })

    test("the audit log keeps an entry's actor and digests exactly", async (store) => {
      const change: AuditEvent = {
        at: T,
        type: 'client.removed',
        actor: 'cli:ra.whitfield',
        subject: 'a',
        client_id: 'a',
        before_digest: 'YmVmb3Jl',
        after_digest: 'YWZ0ZXI',
        detail: { reason: 'retired' },
      }
      await store.transaction((tx) => tx.audit.append(change))
      assert.deepStrictEqual(await store.audit.recent(1), [change])
    })
  })
}
