/** The demo workforce's people by username, and their demo passwords, for tests that sign them in. */
import assert from 'node:assert/strict'
import { demoCredentials, demoWorkforce, type Person } from '@careid/domain'

export function person(username: string): Person {
  const found = demoWorkforce.find((p) => p.username === username)
  assert.ok(found, `${username} is in the demo workforce`)
  return found
}

export function password(p: Person): string {
  return demoCredentials[p.uid]?.password as string
}

/** Someone who picks a role from the plain list (2 to 5 roles): the journeys that choose a role. */
export function someoneWithFewRoles(): Person {
  const found = demoWorkforce.find((p) => p.positions.length >= 2 && p.positions.length <= 5)
  assert.ok(found, 'the demo workforce has someone with 2 to 5 roles')
  return found
}
