/**
 * `GET /Patient/{id}/RelatedPerson` (cis2.md 6.6): the people to contact about the patient, as a
 * searchset Bundle of RelatedPerson resources. PDS keeps them as the patient's contacts; each
 * becomes a RelatedPerson naming the patient by NHS number, with an `id` of its own and the
 * `fullUrl` `.../Patient/{id}/RelatedPerson/{relatedPersonId}`. "Related people are not returned
 * for a restricted patient and an empty bundle is returned" (PDS's specification, relatedpersons-get).
 */
import type { Patient, PatientContact, RelatedPerson } from 'fhir/r4.js'
import type { ApiRoute, PatientStore } from '@careid/ports'
import { apiBaseUrl, searchsetResponse, type BundleEntry } from './fhir_response.ts'
import { currentRecord, isRecord } from './patient_lookup.ts'
import { isRestricted } from './patient_record.ts'
import { NHS_NUMBER_SYSTEM } from './population.ts'

/** The RelatedPerson of one of the patient's contacts (`index` numbers contacts without an id). */
export function relatedPersonOf(nhsNumber: string, contact: PatientContact, index: number): RelatedPerson {
  const person: RelatedPerson = {
    resourceType: 'RelatedPerson',
    id: contact.id ?? `${nhsNumber}-contact-${index + 1}`,
    active: true,
    patient: { identifier: { system: NHS_NUMBER_SYSTEM, value: nhsNumber } },
  }
  if (contact.period !== undefined) person.period = contact.period
  if (contact.relationship !== undefined) person.relationship = contact.relationship
  if (contact.name !== undefined) person.name = [contact.name]
  if (contact.telecom !== undefined) person.telecom = contact.telecom
  if (contact.address !== undefined) person.address = [contact.address]
  if (contact.gender !== undefined) person.gender = contact.gender
  return person
}

export function relatedPersonRoute(patients: PatientStore, now: () => number, origin?: string): ApiRoute {
  return {
    method: 'GET',
    path: '/Patient/:id/RelatedPerson',
    async handle(request) {
      const found = await currentRecord(patients, request.params['id'] ?? '')
      if (!isRecord(found)) return found
      const patient = found.resource as unknown as Patient
      const contacts = isRestricted(patient) ? [] : (patient.contact ?? [])
      const base = apiBaseUrl(request, origin)
      const entries: BundleEntry[] = contacts.map((contact, index) => {
        const resource = relatedPersonOf(found.nhs_number, contact, index)
        return { fullUrl: `${base}/Patient/${found.nhs_number}/RelatedPerson/${resource.id}`, resource }
      })
      return searchsetResponse(now(), entries)
    },
  }
}
