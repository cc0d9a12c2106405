// The national RBAC catalogue, the directory over it, and the expansion of included activities.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Activity, Directory } from '@careid/ports'
import { createDirectory, demoOrganisations, expandActivities, nationalActivities, nationalJobRoles } from '../src/index.ts'

const directory = createDirectory()

describe('national RBAC catalogue', () => {
  it('has enough job roles and activities, well formed', () => {
    assert.ok(nationalJobRoles.length >= 12)
    assert.ok(nationalActivities.length >= 20)
    for (const r of nationalJobRoles) {
      assert.match(r.code, /^R\d{4}$/)
      assert.match(r.group.code, /^G\d{4}$/)
      assert.match(r.sector.code, /^S\d{4}$/)
      for (const name of [r.name, r.group.name, r.sector.name]) assert.ok(name.length > 0 && !name.includes('"'))
    }
    for (const a of nationalActivities) assert.match(a.code, /^B\d{4}$/)
  })

  it('gives each group one sector and each sector or group code one name', () => {
    const names = new Map<string, string>()
    const sectorOf = new Map<string, string>()
    for (const r of nationalJobRoles) {
      for (const level of [r.sector, r.group]) {
        assert.equal(names.get(level.code) ?? level.name, level.name, level.code)
        names.set(level.code, level.name)
      }
      assert.equal(sectorOf.get(r.group.code) ?? r.sector.code, r.sector.code, r.group.code)
      sectorOf.set(r.group.code, r.sector.code)
    }
  })

  it('uses the codes and names of cis2.md 3.3 and 3.8', () => {
    const role = (code: string): string => {
      const r = directory.jobRole(code)
      assert.ok(r, code)
      return `${r.sector.code}:${r.group.code}:${r.code} "${r.sector.name}":"${r.group.name}":"${r.name}"`
    }
    assert.equal(role('R8001'), 'S8000:G8000:R8001 "Clinical":"Clinical Provision":"Nurse Access Role"')
    assert.equal(role('R8008'), 'S8001:G8002:R8008 "Support":"Support":"Admin/Clinical Support Access Role"')
    assert.equal(role('R5080'), 'S0080:G0450:R5080 "Admin & Clerical":"Management - A & C":"Registration Authority Manager"')
    assert.equal(role('R8000'), 'S8000:G8000:R8000 "Clinical":"Clinical Provision":"Clinical Practitioner Access Role"')
    assert.equal(role('R8003'), 'S8000:G8003:R8003 "Clinical":"Health Professional":"Health Professional Access Role"')
    for (const [code, name] of [
      ['B0278', 'Perform Prescription Preparation'],
      ['B0401', 'View Patient Medication'],
      ['B0145', 'Execute CDS DQ Extracts (Clear)'],
      ['B0028', 'Manage Allergies'],
      ['B0825', 'Amend Patient Demographics'],
      ['B0820', 'View Patient Demographics'],
    ]) {
      assert.equal(directory.activity(code)?.name, name, code)
    }
    assert.deepEqual(directory.activity('B0825')?.includes, ['B0820'])
  })

  it('covers the job roles a demo needs', () => {
    const names = nationalJobRoles.map((r) => r.name)
    for (const name of ['Pharmacist', 'General Medical Practitioner', 'Receptionist Access Role', 'Registration Authority Agent']) {
      assert.ok(names.includes(name), name)
    }
  })
})

describe('organisations', () => {
  it('include the cis2.md organisations and unique, well-formed ODS codes', () => {
    assert.equal(directory.organisation('X09')?.org_name, 'NHS CONNECTING FOR HEALTH')
    assert.equal(directory.organisation('Y51')?.org_name, 'THE NORTH MIDLANDS AND EAST PROGRAMME FOR IT (NMEPFIT)')
    for (const o of demoOrganisations) assert.match(o.org_code, /^[A-Z0-9]{3,6}$/)
    assert.equal(new Set(demoOrganisations.map((o) => o.org_code)).size, demoOrganisations.length)
  })
})

describe('createDirectory', () => {
  it('looks codes up and answers undefined for unknown ones', () => {
    assert.equal(directory.organisation('RBA')?.org_name, 'SOMERSET NHS FOUNDATION TRUST')
    assert.equal(directory.jobRole('R1290')?.name, 'Pharmacist')
    assert.equal(directory.organisation('ZZZ'), undefined)
    assert.equal(directory.jobRole('R0000'), undefined)
    assert.equal(directory.activity('B9999'), undefined)
  })

  it('refuses duplicate codes and includes of unknown activities', () => {
    const base = { organisations: [], jobRoles: [], activities: [] }
    assert.throws(
      () => createDirectory({ ...base, organisations: [{ org_code: 'X09', org_name: 'A' }, { org_code: 'X09', org_name: 'B' }] }),
      /duplicate organisation code X09/,
    )
    assert.throws(
      () => createDirectory({ ...base, activities: [{ code: 'B0001', name: 'A', includes: ['B0002'] }] }),
      /activity B0001 includes unknown activity B0002/,
    )
    assert.throws(() => createDirectory({ ...base, jobRoles: [nationalJobRoles[0]!, nationalJobRoles[0]!] }), /duplicate job role code/)
  })

  it('cannot be changed through what it hands out, nor through its input', () => {
    const input: Activity[] = [{ code: 'B0001', name: 'One', includes: [] }]
    const dir = createDirectory({ organisations: [], jobRoles: [], activities: input })
    input[0]!.name = 'Changed'
    assert.equal(dir.activity('B0001')?.name, 'One')
    assert.throws(() => {
      dir.activity('B0001')!.includes.push('B0002')
    }, TypeError)
  })
})

describe('expandActivities', () => {
  it('adds what an activity includes: B0825 Amend gives B0820 View Patient Demographics', () => {
    assert.deepEqual(expandActivities(['B0825'], directory), ['B0825', 'B0820'])
  })

  it('follows includes transitively, depth first', () => {
    assert.deepEqual(expandActivities(['B0830'], directory), ['B0830', 'B0825', 'B0820'])
    assert.deepEqual(expandActivities(['B0440', 'B0028'], directory), ['B0440', 'B0278', 'B0401', 'B0028', 'B0027'])
  })

  it('keeps the first occurrence of each code, in a stable order', () => {
    assert.deepEqual(expandActivities(['B0820', 'B0825'], directory), ['B0820', 'B0825'])
    assert.deepEqual(expandActivities(['B0825', 'B0820', 'B0825'], directory), ['B0825', 'B0820'])
    assert.deepEqual(expandActivities(['B0101', 'B0830'], directory), ['B0101', 'B0825', 'B0820', 'B0830'])
    assert.deepEqual(expandActivities([], directory), [])
  })

  it('keeps a code the directory does not know, expanding it to nothing', () => {
    assert.deepEqual(expandActivities(['B9999', 'B0825'], directory), ['B9999', 'B0825', 'B0820'])
  })

  it('ends on cycles instead of looping', () => {
    const cyclic = createDirectory({
      organisations: [],
      jobRoles: [],
      activities: [
        { code: 'B0001', name: 'One', includes: ['B0002'] },
        { code: 'B0002', name: 'Two', includes: ['B0003', 'B0001'] },
        { code: 'B0003', name: 'Three', includes: ['B0001', 'B0003'] },
        { code: 'B0004', name: 'Self', includes: ['B0004'] },
      ],
    })
    assert.deepEqual(expandActivities(['B0001'], cyclic), ['B0001', 'B0002', 'B0003'])
    assert.deepEqual(expandActivities(['B0003'], cyclic), ['B0003', 'B0001', 'B0002'])
    assert.deepEqual(expandActivities(['B0004', 'B0002'], cyclic), ['B0004', 'B0002', 'B0003', 'B0001'])
  })

  it('copes with a long chain', () => {
    const n = 20_000
    const chain: Pick<Directory, 'activity'> = {
      activity: (code) => {
        const i = Number(code.slice(1))
        return { code, name: code, includes: i + 1 < n ? [`B${i + 1}`] : [] }
      },
    }
    assert.equal(expandActivities(['B0'], chain).length, n)
  })
})
