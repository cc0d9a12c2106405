import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { CareidEvent, EventBus } from '@careid/ports'
import { createFanout, parseEvent } from '../../src/events/events.ts'
import { createLocalEventBus } from '../../src/events/local.ts'
import { eventChannel, openPostgresEventBus } from '../../src/events/postgres.ts'
import { openRedisEventBus } from '../../src/events/redis.ts'
import { ensurePostgres, ensureRedis } from '../support/services.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every event `bus` hears, in order. */
function recorder(bus: EventBus): CareidEvent[] {
  const seen: CareidEvent[] = []
  bus.subscribe((event) => {
    seen.push(event)
  })
  return seen
}

/** Waits until `seen` holds `count` events (failing after 10 s), then a little longer to catch extras. */
async function settle(seen: CareidEvent[], count: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (seen.length < count) {
    if (Date.now() > deadline) assert.fail(`heard ${seen.length} events, expected ${count}`)
    await sleep(20)
  }
  await sleep(100)
}

describe('events', () => {
  it('parses only the events this version knows, with bounded ids', () => {
    assert.deepEqual(parseEvent({ type: 'client.changed', client_id: 'c1' }), { type: 'client.changed', client_id: 'c1' })
    assert.deepEqual(parseEvent({ type: 'keys.rotated', extra: 1 }), { type: 'keys.rotated' })
    assert.deepEqual(parseEvent({ type: 'session.ended', sid: 's1' }), { type: 'session.ended', sid: 's1' })
    for (const bad of [null, 'keys.rotated', { type: 'client.changed' }, { type: 'client.changed', client_id: '' }, { type: 'session.ended', sid: 'x'.repeat(257) }, { type: 'other' }]) {
      assert.equal(parseEvent(bad), undefined, JSON.stringify(bad))
    }
  })

  it('delivers once per handler, drops its own echoes and malformed messages, and contains failing handlers', async () => {
    const fanout = createFanout('me')
    const seen: CareidEvent[] = []
    fanout.subscribe(() => {
      throw new Error('a broken handler')
    })
    fanout.subscribe(async () => {
      throw new Error('a broken async handler')
    })
    const stop = fanout.subscribe((event) => {
      seen.push(event)
    })
    fanout.deliver({ type: 'keys.rotated' })
    fanout.receive(fanout.encode({ type: 'keys.rotated' }))
    fanout.receive('not json')
    fanout.receive(JSON.stringify({ origin: 'other', event: { type: 'unknown' } }))
    fanout.receive(JSON.stringify({ origin: 'other', event: { type: 'session.ended', sid: 's1' } }))
    stop()
    fanout.deliver({ type: 'keys.rotated' })
    await sleep(10)
    assert.deepEqual(seen, [{ type: 'keys.rotated' }, { type: 'session.ended', sid: 's1' }])
  })

  it('in-process bus: the publisher hears its own events', async () => {
    const bus = createLocalEventBus()
    const seen = recorder(bus)
    await bus.publish({ type: 'client.changed', client_id: 'c1' })
    assert.deepEqual(seen, [{ type: 'client.changed', client_id: 'c1' }])
    await bus.close()
  })
})

const redis = await ensureRedis()
if (redis.available) {
  describe('Redis event bus', () => {
    const channel = `careid:test_${randomBytes(6).toString('hex')}:events`
    const buses: EventBus[] = []
    after(async () => {
      for (const bus of buses) await bus.close()
    })

    it('every bus on the channel hears each event once; other channels and junk are ignored', async () => {
      const [a, b, elsewhere] = await Promise.all([openRedisEventBus({ url: redis.url, channel }), openRedisEventBus({ url: redis.url, channel }), openRedisEventBus({ url: redis.url, channel: `${channel}:other` })])
      buses.push(a, b, elsewhere)
      const [seenA, seenB, seenElsewhere] = [recorder(a), recorder(b), recorder(elsewhere)]
      const raw = new Redis(redis.url)
      await raw.publish(channel, 'not json')
      await raw.publish(channel, JSON.stringify({ origin: 'x', event: { type: 'client.changed', client_id: 42 } }))
      await raw.quit()
      await a.publish({ type: 'client.changed', client_id: 'c1' })
      await b.publish({ type: 'keys.rotated' })
      await settle(seenA, 2)
      await settle(seenB, 2)
      // A bus hears its own events at once and the other's later, so only the sets are the same.
      const sorted = (seen: CareidEvent[]) => seen.map((e) => JSON.stringify(e)).sort()
      const expected = sorted([{ type: 'client.changed', client_id: 'c1' }, { type: 'keys.rotated' }])
      assert.deepEqual(sorted(seenA), expected)
      assert.deepEqual(sorted(seenB), expected)
      assert.deepEqual(seenElsewhere, [])
    })

    it('opening fails with a message that names no password', async () => {
      await assert.rejects(openRedisEventBus({ url: 'redis://:hidden-pw@127.0.0.1:1', connectTimeoutMs: 500 }), (error: Error) => /^cannot open the Redis event bus: /.test(error.message) && !error.message.includes('hidden-pw'))
    })
  })
} else {
  it('Redis event bus', { skip: redis.reason }, () => {})
}

const postgres = await ensurePostgres()
if (postgres.available) {
  describe('PostgreSQL event bus', () => {
    const schema = `careid_test_${randomBytes(6).toString('hex')}`
    const buses: EventBus[] = []
    after(async () => {
      for (const bus of buses) await bus.close()
    })

    it('every bus of the schema hears each event once, and listens again after its connection is cut', async () => {
      const [a, b, elsewhere] = await Promise.all([
        openPostgresEventBus({ url: postgres.url, schema }),
        openPostgresEventBus({ url: postgres.url, schema }),
        openPostgresEventBus({ url: postgres.url, schema: `${schema}_other` }),
      ])
      buses.push(a, b, elsewhere)
      const [seenA, seenB, seenElsewhere] = [recorder(a), recorder(b), recorder(elsewhere)]
      const admin = new pg.Client({ connectionString: postgres.url })
      admin.on('error', () => {})
      await admin.connect()
      // Sent by another node (another origin); the buses themselves have run nothing but LISTEN yet,
      // which is how their connections are found below.
      await admin.query('SELECT pg_notify($1, $2)', [eventChannel(schema), JSON.stringify({ origin: 'another node', event: { type: 'session.ended', sid: 's1' } })])
      await settle(seenA, 1)
      await settle(seenB, 1)
      assert.deepEqual(seenA, [{ type: 'session.ended', sid: 's1' }])
      assert.deepEqual(seenB, [{ type: 'session.ended', sid: 's1' }])
      assert.deepEqual(seenElsewhere, [])

      // Cut both listening connections of this schema, as a database restart would.
      const cut = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1', [`LISTEN ${pg.escapeIdentifier(eventChannel(schema))}`])
      await admin.end()
      assert.equal(cut.rowCount, 2)

      // Events published while a bus reconnects are lost by design: retry until B hears A again.
      const deadline = Date.now() + 15_000
      for (let n = 0; !seenB.some((e) => e.type === 'client.changed'); n++) {
        if (Date.now() > deadline) assert.fail('B did not hear A again after the cut')
        await a.publish({ type: 'client.changed', client_id: `after-cut-${n}` }).catch(() => undefined)
        await sleep(200)
      }
      // A heard each of its own events once: locally, never again as an echo.
      const own = seenA.filter((e) => e.type === 'client.changed').map((e) => JSON.stringify(e))
      assert.equal(new Set(own).size, own.length)
    })
  })
} else {
  it('PostgreSQL event bus', { skip: postgres.reason }, () => {})
}
