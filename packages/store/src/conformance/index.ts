/**
 * The one storage conformance suite. Every adapter runs it through `runStoreConformance`; it speaks
 * only the contract, so a behaviour it checks is a behaviour every backend shares. Each part of the
 * contract (`@careid/ports`' `Store`) has its own file here; `fixtures.ts` holds what they share.
 */
import { describe } from 'node:test'
import { apiGrantsConformance } from './api_grants.ts'
import { appsConformance } from './apps.ts'
import { auditConformance } from './audit.ts'
import { cardsConformance } from './cards.ts'
import { clientsConformance } from './clients.ts'
import { codesConformance } from './codes.ts'
import { credentialsConformance } from './credentials.ts'
import { storeTest, type ConformanceSubject } from './fixtures.ts'
import { grantsConformance } from './grants.ts'
import { interactionsConformance } from './interactions.ts'
import { keysConformance } from './keys.ts'
import { lifecycleConformance } from './lifecycle.ts'
import { outboxConformance } from './outbox.ts'
import { patientsConformance } from './patients.ts'
import { peopleConformance } from './people.ts'
import { ratesConformance } from './rates.ts'
import { refreshTokensConformance } from './refresh_tokens.ts'
import { replayConformance } from './replay.ts'
import { sessionsConformance } from './sessions.ts'
import { unitOfWorkConformance } from './unit_of_work.ts'

export type { ConformanceSubject } from './fixtures.ts'

/**
 * Registers the storage conformance suite with node:test. `open` is called once per test and must
 * return an empty, migrated store; the suite calls `cleanup` when the test ends.
 */
export function runStoreConformance(name: string, open: () => Promise<ConformanceSubject>): void {
  const test = storeTest(open)
  describe(`storage contract: ${name}`, () => {
    clientsConformance(test)
    keysConformance(test)
    peopleConformance(test)
    credentialsConformance(test)
    cardsConformance(test)
    grantsConformance(test)
    refreshTokensConformance(test)
    outboxConformance(test)
    auditConformance(test)
    appsConformance(test)
    codesConformance(test)
    sessionsConformance(test)
    interactionsConformance(test)
    replayConformance(test)
    ratesConformance(test)
    patientsConformance(test)
    apiGrantsConformance(test)
    unitOfWorkConformance(test)
    lifecycleConformance(test)
  })
}
