// The demo workforce covers every branch of the sign-in journey, and its data is consistent.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createDirectory, demoCredentials, demoWorkforce, parsePerson, registrationKeys } from '../src/index.ts'

const directory = createDirectory()

function distinctOrgs(codes: readonly string[]): number {
  return new Set(codes).size
}

describe('demo workforce coverage', () => {
  const roleCounts = demoWorkforce.map((p) => p.positions.length)

  it('has at least 8 people', () => {
    assert.ok(demoWorkforce.length >= 8)
  })

  it('covers one role, 2 to 5 roles, more than 5, and none', () => {
    assert.ok(roleCounts.includes(1), 'exactly one role')
    assert.ok(roleCounts.some((n) => n >= 2 && n <= 5), '2 to 5 roles')
    assert.ok(roleCounts.some((n) => n > 5), 'more than 5 roles')
    assert.ok(roleCounts.includes(0), 'no role')
  })

  it('has people with roles at several organisations, and two roles at one organisation', () => {
    assert.ok(demoWorkforce.some((p) => distinctOrgs(p.positions.map((r) => r.org_code)) >= 3))
    assert.ok(demoWorkforce.some((p) => p.positions.length > distinctOrgs(p.positions.map((r) => r.org_code))))
  })

  it('has a Registration Authority manager', () => {
    assert.ok(demoWorkforce.some((p) => p.positions.some((r) => r.job_role_code === 'R5080')))
  })

  it('has mostly identity assurance level 3 and someone lower', () => {
    const levels = demoWorkforce.map((p) => p.id_assurance_level)
    assert.ok(levels.filter((l) => l === 3).length > demoWorkforce.length / 2)
    assert.ok(levels.some((l) => l < 3))
  })

  it('has every kind of professional registration, and an org-scoped code', () => {
    for (const key of registrationKeys) assert.ok(demoWorkforce.some((p) => p.registrations[key] !== undefined), key)
    assert.ok(demoWorkforce.some((p) => p.org_memberships.some((m) => m.codes?.gnc !== undefined)))
    assert.ok(demoWorkforce.some((p) => Object.keys(p.registrations).length === 0), 'someone with none')
  })

  it('has a membership without a role, and a person with no membership at all', () => {
    assert.ok(demoWorkforce.some((p) => p.org_memberships.some((m) => !p.positions.some((r) => r.person_orgid === m.person_orgid))))
    assert.ok(demoWorkforce.some((p) => p.org_memberships.length === 0))
  })

  it('has people with and without middle names', () => {
    assert.ok(demoWorkforce.some((p) => p.middle_names !== undefined))
    assert.ok(demoWorkforce.some((p) => p.middle_names === undefined && !('middle_names' in p)))
  })
})

describe('demo workforce consistency', () => {
  it('has unique UIDs, usernames and URIDs, and no id used twice for anything', () => {
    const uids = demoWorkforce.map((p) => p.uid)
    const usernames = demoWorkforce.map((p) => p.username)
    const urids = demoWorkforce.flatMap((p) => p.positions.map((r) => r.person_roleid))
    const orgids = demoWorkforce.flatMap((p) => p.org_memberships.map((m) => m.person_orgid))
    const workgroups = demoWorkforce.flatMap((p) => p.positions.flatMap((r) => r.workgroups.map((w) => w.code)))
    assert.equal(new Set(uids).size, uids.length)
    assert.equal(new Set(usernames).size, usernames.length)
    assert.equal(new Set(urids).size, urids.length)
    const all = [...uids, ...urids, ...orgids, ...workgroups]
    assert.equal(new Set(all).size, all.length)
    for (const id of all) assert.match(id, /^\d{12}$/)
  })

  it('gives every person a parseable record that survives JSON', () => {
    for (const p of demoWorkforce) {
      assert.deepEqual(parsePerson(JSON.parse(JSON.stringify(p))), p, p.username)
    }
  })

  it('names only codes the directory knows', () => {
    for (const p of demoWorkforce) {
      for (const m of p.org_memberships) assert.ok(directory.organisation(m.org_code), `${p.username} ${m.org_code}`)
      for (const r of p.positions) {
        assert.ok(directory.jobRole(r.job_role_code), `${p.username} ${r.job_role_code}`)
        for (const a of r.activity_codes) assert.ok(directory.activity(a), `${p.username} ${a}`)
        assert.ok(r.activity_codes.length > 0, `${p.username} ${r.person_roleid} has activities`)
      }
    }
  })

  it('has a demo password for exactly the demo people', () => {
    assert.deepEqual(Object.keys(demoCredentials).sort(), demoWorkforce.map((p) => p.uid).sort())
    const passwords = Object.values(demoCredentials).map((c) => c.password)
    assert.equal(new Set(passwords).size, passwords.length)
    for (const password of passwords) assert.ok(password.length >= 12 && password.endsWith('-demo'))
  })
})
