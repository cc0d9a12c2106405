/**
 * The conformance suite's part for `Store.apiGrants`: the API Platform's grants, their opaque
 * tokens, single-use refresh tokens, revocation by CIS2 session and the sweep.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { ApiGrantRecord, ApiGrantUser, ApiTokenRecord, Store } from '@careid/ports'
import { MINUTE, T, race, type StoreTest } from './fixtures.ts'

/** How many concurrent callers race to rotate one refresh token. */
const ROTATORS = 10

/** A worker with every field set. */
function user(sid: string, changes: Partial<ApiGrantUser> = {}): ApiGrantUser {
  return {
    sub: '555000000001',
    sid,
    aal: 3,
    acr: 'AAL3_ANY',
    selected_roleid: '555000000001-1',
    role_ids: ['555000000001-1', '555000000001-2'],
    ...changes,
  }
}

/** A combined-pattern grant with every field but `revoked_at` set; `changes` override them. */
function apiGrant(id: string, changes: Partial<ApiGrantRecord> = {}): ApiGrantRecord {
  return {
    grant_id: id,
    api_key: 'Too5BdPayTQACdw1AJK1rD4nKUD0Ag7J',
    pattern: 'combined',
    scope: 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service',
    user: user(`sid-${id}`),
    cis2_access_token_sealed: `v1.sealed-${id}`,
    authenticated_at: T - MINUTE,
    refresh_until: T + 12 * 60 * MINUTE,
    created_at: T,
    expires_at: T + 60 * MINUTE,
    ...changes,
  }
}

/** An application-restricted grant: no user, no CIS2 access token. */
function appGrant(id: string, changes: Partial<ApiGrantRecord> = {}): ApiGrantRecord {
  const grant = apiGrant(id, { pattern: 'client_credentials', scope: 'urn:nhsd:apim:app:level3:personal-demographics-service', ...changes })
  delete grant.user
  delete grant.cis2_access_token_sealed
  return grant
}

function token(hash: string, grantId: string, kind: ApiTokenRecord['kind'], changes: Partial<ApiTokenRecord> = {}): ApiTokenRecord {
  return {
    token_hash: hash,
    grant_id: grantId,
    kind,
    refresh_count: 0,
    created_at: T,
    expires_at: kind === 'access' ? T + 10 * MINUTE : T + 60 * MINUTE,
    ...changes,
  }
}

/** A grant with its first access and refresh tokens (`<id>-access`, `<id>-refresh`). */
async function issued(store: Store, grant: ApiGrantRecord): Promise<{ access: ApiTokenRecord; refresh: ApiTokenRecord }> {
  const access = token(`${grant.grant_id}-access`, grant.grant_id, 'access')
  const refresh = token(`${grant.grant_id}-refresh`, grant.grant_id, 'refresh')
  await store.apiGrants.issue(grant, [access, refresh])
  return { access, refresh }
}

/** A refresh's successors: a new access and refresh token of `grantId`, `refreshCount` refreshes on. */
function successors(prefix: string, grantId: string, refreshCount: number, at: number): ApiTokenRecord[] {
  return [
    token(`${prefix}-access`, grantId, 'access', { refresh_count: refreshCount, created_at: at, expires_at: at + 10 * MINUTE }),
    token(`${prefix}-refresh`, grantId, 'refresh', { refresh_count: refreshCount, created_at: at, expires_at: at + 60 * MINUTE }),
  ]
}

export function apiGrantsConformance(test: StoreTest): void {
  describe('API grants', () => {
    test('issue stores the grant and its tokens; each kind is found by its own lookup', async (store) => {
      const grant = apiGrant('g1')
      const { access, refresh } = await issued(store, grant)
      assert.deepStrictEqual(await store.apiGrants.findAccess(access.token_hash, T), { token: access, grant })
      assert.deepStrictEqual(await store.apiGrants.findRefresh(refresh.token_hash, T), { token: refresh, grant })
      // An access token is no refresh token, nor the other way round.
      assert.equal(await store.apiGrants.findRefresh(access.token_hash, T), undefined)
      assert.equal(await store.apiGrants.findAccess(refresh.token_hash, T), undefined)
      assert.equal(await store.apiGrants.findAccess('unknown', T), undefined)
      assert.equal(await store.apiGrants.findRefresh('unknown', T), undefined)
    })

    test('the user and the optional fields round-trip exactly; unset ones are absent, not null', async (store) => {
      const bare = appGrant('app')
      const { access } = await issued(store, bare)
      const found = await store.apiGrants.findAccess(access.token_hash, T)
      assert.deepStrictEqual(found, { token: access, grant: bare })
      for (const field of ['user', 'cis2_access_token_sealed', 'revoked_at']) assert.equal(field in found!.grant, false, field)
      assert.equal('used_at' in found!.token, false)

      // The separate pattern: a user without a role chosen or roles read, and no CIS2 access token.
      const exchanged = apiGrant('exchanged', { pattern: 'token_exchange', user: { sub: '555000000002', sid: 'sid-x', aal: 2, acr: 'AAL2_OR_AAL3_ANY' } })
      delete exchanged.cis2_access_token_sealed
      const tokens = await issued(store, exchanged)
      const got = await store.apiGrants.findRefresh(tokens.refresh.token_hash, T)
      assert.deepStrictEqual(got, { token: tokens.refresh, grant: exchanged })
      assert.equal('selected_roleid' in got!.grant.user!, false)
      assert.equal('role_ids' in got!.grant.user!, false)
      assert.equal('cis2_access_token_sealed' in got!.grant, false)

      // A returned record is a fresh object: changing it changes nothing stored.
      got!.grant.user!.role_ids = ['tampered']
      got!.token.refresh_count = 99
      assert.deepStrictEqual(await store.apiGrants.findRefresh(tokens.refresh.token_hash, T), { token: tokens.refresh, grant: exchanged })
    })

    test('a token expiring at t is found at t - 1 and not at t', async (store) => {
      const { access, refresh } = await issued(store, apiGrant('g1'))
      assert.notEqual(await store.apiGrants.findAccess(access.token_hash, access.expires_at - 1), undefined)
      assert.equal(await store.apiGrants.findAccess(access.token_hash, access.expires_at), undefined)
      assert.notEqual(await store.apiGrants.findRefresh(refresh.token_hash, refresh.expires_at - 1), undefined)
      assert.equal(await store.apiGrants.findRefresh(refresh.token_hash, refresh.expires_at), undefined)
    })

    test('the tokens of a revoked grant are not found, access and refresh alike', async (store) => {
      const { access, refresh } = await issued(store, apiGrant('g1'))
      assert.equal(await store.apiGrants.revokeBySid('sid-g1', T + 1), 1)
      assert.equal(await store.apiGrants.findAccess(access.token_hash, T + 2), undefined)
      assert.equal(await store.apiGrants.findRefresh(refresh.token_hash, T + 2), undefined)
      assert.equal(await store.apiGrants.rotate(refresh.token_hash, successors('s', 'g1', 1, T + 2), T + 2), false)
      assert.equal(await store.apiGrants.findAccess('s-access', T + 2), undefined)

      // A grant stored revoked is just as dead.
      const stored = await issued(store, apiGrant('g2', { revoked_at: T }))
      assert.equal(await store.apiGrants.findAccess(stored.access.token_hash, T + 1), undefined)
      assert.equal(await store.apiGrants.findRefresh(stored.refresh.token_hash, T + 1), undefined)
    })

    test('rotate marks the refresh token used and stores its successors, once', async (store) => {
      const grant = apiGrant('g1')
      const { access, refresh } = await issued(store, grant)
      const next = successors('s1', 'g1', 1, T + MINUTE)
      assert.equal(await store.apiGrants.rotate(refresh.token_hash, next, T + MINUTE), true)
      // Used: not found again, and a second rotation is refused and stores nothing.
      assert.equal(await store.apiGrants.findRefresh(refresh.token_hash, T + MINUTE), undefined)
      assert.equal(await store.apiGrants.rotate(refresh.token_hash, successors('s2', 'g1', 1, T + 2 * MINUTE), T + 2 * MINUTE), false)
      assert.equal(await store.apiGrants.findAccess('s2-access', T + 2 * MINUTE), undefined)
      assert.equal(await store.apiGrants.findRefresh('s2-refresh', T + 2 * MINUTE), undefined)
      // The successors are live, as is the first access token (a refresh does not end it).
      const raised = { ...grant, expires_at: next[1]!.expires_at }
      assert.deepStrictEqual(await store.apiGrants.findAccess('s1-access', T + MINUTE), { token: next[0], grant: raised })
      assert.deepStrictEqual(await store.apiGrants.findRefresh('s1-refresh', T + MINUTE), { token: next[1], grant: raised })
      assert.deepStrictEqual(await store.apiGrants.findAccess(access.token_hash, T + MINUTE), { token: access, grant: raised })
      // And the successor rotates in turn.
      assert.equal(await store.apiGrants.rotate('s1-refresh', successors('s3', 'g1', 2, T + 3 * MINUTE), T + 3 * MINUTE), true)
      assert.equal((await store.apiGrants.findRefresh('s3-refresh', T + 3 * MINUTE))?.token.refresh_count, 2)
    })

    test('rotate refuses an unknown, expired or access token, storing nothing', async (store) => {
      const { access, refresh } = await issued(store, apiGrant('g1'))
      assert.equal(await store.apiGrants.rotate('unknown', successors('s1', 'g1', 1, T), T), false)
      assert.equal(await store.apiGrants.rotate(access.token_hash, successors('s2', 'g1', 1, T), T), false)
      assert.equal(await store.apiGrants.rotate(refresh.token_hash, successors('s3', 'g1', 1, refresh.expires_at), refresh.expires_at), false)
      for (const prefix of ['s1', 's2', 's3']) assert.equal(await store.apiGrants.findAccess(`${prefix}-access`, T), undefined)
      // None of those used the token.
      assert.notEqual(await store.apiGrants.findRefresh(refresh.token_hash, T), undefined)
    })

    test(`${ROTATORS} concurrent rotations of one token: exactly one wins, and only its successors are stored`, async (store) => {
      const { refresh } = await issued(store, apiGrant('g1'))
      const outcomes = await race(ROTATORS, (i) => store.apiGrants.rotate(refresh.token_hash, successors(`s${i}`, 'g1', 1, T + 1), T + 1))
      assert.equal(outcomes.filter((won) => won).length, 1)
      const winner = outcomes.indexOf(true)
      for (let i = 0; i < ROTATORS; i++) {
        const found = await store.apiGrants.findRefresh(`s${i}-refresh`, T + 1)
        assert.equal(found !== undefined, i === winner, `successor ${i}`)
        assert.equal((await store.apiGrants.findAccess(`s${i}-access`, T + 1)) !== undefined, i === winner, `access ${i}`)
      }
    })

    test('rotate rejects successors of another grant, changing nothing', async (store) => {
      const grant = apiGrant('g1')
      const { refresh } = await issued(store, grant)
      await issued(store, apiGrant('g2'))
      const mixed = [token('s-access', 'g1', 'access', { refresh_count: 1 }), token('s-refresh', 'g2', 'refresh', { refresh_count: 1, expires_at: T + 600 * MINUTE })]
      await assert.rejects(store.apiGrants.rotate(refresh.token_hash, mixed, T + 1))
      assert.deepStrictEqual(await store.apiGrants.findRefresh(refresh.token_hash, T + 1), { token: refresh, grant })
      assert.equal(await store.apiGrants.findAccess('s-access', T + 1), undefined)
      assert.equal(await store.apiGrants.findRefresh('s-refresh', T + 1), undefined)
    })

    test('a rotation whose successor cannot be stored changes nothing', async (store) => {
      const grant = apiGrant('g1')
      const { access, refresh } = await issued(store, grant)
      const taken = [token('s-refresh', 'g1', 'refresh', { refresh_count: 1, expires_at: T + 600 * MINUTE }), token(access.token_hash, 'g1', 'access', { refresh_count: 1 })]
      await assert.rejects(store.apiGrants.rotate(refresh.token_hash, taken, T + 1))
      assert.deepStrictEqual(await store.apiGrants.findRefresh(refresh.token_hash, T + 1), { token: refresh, grant })
      assert.equal(await store.apiGrants.findRefresh('s-refresh', T + 1), undefined)
      assert.deepStrictEqual(await store.apiGrants.findAccess(access.token_hash, T + 1), { token: access, grant })
    })

    test("rotate raises the grant's expires_at to its successors' last expiry, never lowers it", async (store) => {
      const grant = apiGrant('g1', { expires_at: T + 60 * MINUTE })
      const { refresh } = await issued(store, grant)
      const later = [token('s1-refresh', 'g1', 'refresh', { refresh_count: 1, expires_at: T + 90 * MINUTE }), token('s1-access', 'g1', 'access', { refresh_count: 1, expires_at: T + 20 * MINUTE })]
      assert.equal(await store.apiGrants.rotate(refresh.token_hash, later, T + 1), true)
      assert.equal((await store.apiGrants.findAccess('s1-access', T + 1))?.grant.expires_at, T + 90 * MINUTE)
      const sooner = [token('s2-refresh', 'g1', 'refresh', { refresh_count: 2, expires_at: T + 30 * MINUTE })]
      assert.equal(await store.apiGrants.rotate('s1-refresh', sooner, T + 2), true)
      assert.equal((await store.apiGrants.findRefresh('s2-refresh', T + 2))?.grant.expires_at, T + 90 * MINUTE)
    })

    test('revokeBySid revokes that session’s grants only, counts them, and is idempotent', async (store) => {
      const a = await issued(store, apiGrant('a', { user: user('sid-1') }))
      const b = await issued(store, apiGrant('b', { user: user('sid-1', { sub: '555000000002' }), pattern: 'token_exchange' }))
      const other = await issued(store, apiGrant('other', { user: user('sid-2') }))
      const app = await issued(store, appGrant('app'))
      const before = await issued(store, apiGrant('before', { user: user('sid-1'), revoked_at: T }))
      assert.equal(await store.apiGrants.revokeBySid('sid-1', T + 5), 2)
      for (const tokens of [a, b, before]) {
        assert.equal(await store.apiGrants.findAccess(tokens.access.token_hash, T + 6), undefined)
        assert.equal(await store.apiGrants.findRefresh(tokens.refresh.token_hash, T + 6), undefined)
      }
      for (const tokens of [other, app]) {
        assert.notEqual(await store.apiGrants.findAccess(tokens.access.token_hash, T + 6), undefined)
        assert.notEqual(await store.apiGrants.findRefresh(tokens.refresh.token_hash, T + 6), undefined)
      }
      assert.equal(await store.apiGrants.revokeBySid('sid-1', T + 7), 0)
      assert.equal(await store.apiGrants.revokeBySid('sid-unknown', T + 7), 0)
    })

    test('issue stores nothing when a token_hash is already stored', async (store) => {
      const first = await issued(store, apiGrant('g1'))
      const fresh = token('g2-access', 'g2', 'access')
      await assert.rejects(store.apiGrants.issue(apiGrant('g2'), [fresh, token(first.refresh.token_hash, 'g2', 'refresh')]))
      assert.equal(await store.apiGrants.findAccess(fresh.token_hash, T), undefined)
      assert.deepStrictEqual(await store.apiGrants.findRefresh(first.refresh.token_hash, T), { token: first.refresh, grant: apiGrant('g1') })
      // The grant was not stored either: its id is free.
      await store.apiGrants.issue(apiGrant('g2'), [fresh])
      assert.deepStrictEqual(await store.apiGrants.findAccess(fresh.token_hash, T), { token: fresh, grant: apiGrant('g2') })
    })

    test('issue stores nothing when the grant_id is already stored, or a token is of another grant', async (store) => {
      const first = await issued(store, apiGrant('g1'))
      await assert.rejects(store.apiGrants.issue(apiGrant('g1', { scope: 'other' }), [token('new-access', 'g1', 'access')]))
      assert.equal(await store.apiGrants.findAccess('new-access', T), undefined)
      assert.deepStrictEqual(await store.apiGrants.findAccess(first.access.token_hash, T), { token: first.access, grant: apiGrant('g1') })
      await assert.rejects(store.apiGrants.issue(apiGrant('g2'), [token('g2-access', 'g2', 'access'), token('stray', 'g1', 'access')]))
      assert.equal(await store.apiGrants.findAccess('g2-access', T), undefined)
      assert.equal(await store.apiGrants.findAccess('stray', T), undefined)
    })

    test('removeExpired deletes expired grants with their tokens, and expired tokens of live grants', async (store) => {
      const ended = await issued(store, apiGrant('ended', { expires_at: T + 10 }))
      const live = apiGrant('live', { expires_at: T + 100 })
      const spent = token('spent', 'live', 'access', { expires_at: T + 10 })
      const current = token('current', 'live', 'access', { expires_at: T + 100 })
      await store.apiGrants.issue(live, [spent, current])
      assert.equal(await store.apiGrants.removeExpired(T + 9), 0)
      assert.notEqual(await store.apiGrants.findAccess('spent', T), undefined)
      assert.equal(await store.apiGrants.removeExpired(T + 10), 1)
      // Asked as of a time they were live: gone all the same.
      assert.equal(await store.apiGrants.findAccess(ended.access.token_hash, T), undefined)
      assert.equal(await store.apiGrants.findRefresh(ended.refresh.token_hash, T), undefined)
      assert.equal(await store.apiGrants.findAccess('spent', T), undefined)
      assert.deepStrictEqual(await store.apiGrants.findAccess('current', T), { token: current, grant: live })
      assert.equal(await store.apiGrants.removeExpired(T + 10), 0)
      // The expired grant's id is free again.
      await store.apiGrants.issue(apiGrant('ended'), [])
    })
  })
}
