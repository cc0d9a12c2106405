import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DEFAULT_POPULATION_SIZE, generatePopulation } from '@careid/pds'
import { openSqliteStore } from '@careid/store/sqlite'
import { seedDemoPopulation } from '../src/seed.ts'

const dir = mkdtempSync(join(tmpdir(), 'careid-seed-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('the demo population seed', () => {
  it('stores the whole population into an empty store once, and adds nothing on later starts', async () => {
    const path = join(dir, 'once.db')
    const store = await openSqliteStore({ path })
    try {
      assert.equal(await seedDemoPopulation(store.patients), DEFAULT_POPULATION_SIZE)
      assert.equal(await store.patients.count(), DEFAULT_POPULATION_SIZE)
      const { records } = generatePopulation()
      const merged = records.find((r) => r.status === 'merged')!
      assert.deepStrictEqual(await store.patients.get(records[0]!.nhs_number), records[0])
      assert.deepStrictEqual(await store.patients.get(merged.nhs_number), merged)
    } finally {
      await store.close()
    }
    const restarted = await openSqliteStore({ path })
    try {
      assert.equal(await seedDemoPopulation(restarted.patients), 0)
      assert.equal(await restarted.patients.count(), DEFAULT_POPULATION_SIZE)
    } finally {
      await restarted.close()
    }
  })

  it('seeds once when two nodes start on one empty database together', async () => {
    const path = join(dir, 'two-nodes.db')
    const [first, second] = [await openSqliteStore({ path }), await openSqliteStore({ path })]
    try {
      const added = await Promise.all([seedDemoPopulation(first.patients, { size: 50 }), seedDemoPopulation(second.patients, { size: 50 })])
      assert.deepStrictEqual([...added].sort((a, b) => a - b), [0, 50])
      assert.equal(await first.patients.count(), 50)
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })

  it('fails, storing nothing, when the store refuses the population for another reason', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    try {
      const refusing = { ...store.patients, putMany: () => Promise.reject(new Error('disk full')) }
      await assert.rejects(seedDemoPopulation(refusing, { size: 5 }), /disk full/)
      assert.equal(await store.patients.count(), 0)
    } finally {
      await store.close()
    }
  })
})
