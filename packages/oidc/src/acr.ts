/**
 * CIS2's authentication context classes (cis2.md 3.6): which authentication methods (amr) meet
 * which ACR. `acr_values` chooses what is offered; the `acr` claim says which requested class the
 * sign-in met ("the acr claim ... states which class was satisfied, not how").
 */

/** Every ACR value Careid understands, in discovery order. */
export const acrValuesSupported = [
  'AAL3_ANY',
  'AAL2_OR_AAL3_ANY',
  'AAL2_ANY',
  'AAL1_USERPASS',
  'AAL3_IOS',
  'AAL3_FIDO2',
  'AAL3_N3_SMARTCARD',
  'AAL3_CIS2_SMARTCARD',
  'AAL3_SMARTCARD',
  'AAL2_TOTP',
  'AAL2_NHSMAIL',
  // Careid's own: passkeys have no published CIS2 value (cis2.md 3.6), so Careid names them as CIS2
  // names the others, method and level together.
  'AAL3_PASSKEY',
  'AAL2_PASSKEY',
] as const

export type Acr = (typeof acrValuesSupported)[number]

/** "If absent, CIS2 behaves as AAL3" (cis2.md 2). */
export const defaultAcr: Acr = 'AAL3_ANY'

/**
 * The method-specific classes: met only by that amr, and at that level at least: `AALn_<METHOD>`
 * asks for the method at level n (cis2.md 3.6: "match on method and level together, never on the
 * AMR alone"), so a FIDO2 credential that proves only AAL2 does not meet `AAL3_FIDO2`.
 */
const byMethod: Partial<Record<Acr, { amr: readonly string[]; aal: 1 | 2 | 3 }>> = {
  AAL1_USERPASS: { amr: ['USERPASS'], aal: 1 },
  AAL3_IOS: { amr: ['IOS'], aal: 3 },
  AAL3_FIDO2: { amr: ['FIDO2'], aal: 3 },
  AAL3_N3_SMARTCARD: { amr: ['N3_SMARTCARD'], aal: 3 },
  AAL3_CIS2_SMARTCARD: { amr: ['CIS2_SMARTCARD'], aal: 3 },
  AAL3_SMARTCARD: { amr: ['N3_SMARTCARD', 'CIS2_SMARTCARD'], aal: 3 },
  AAL2_TOTP: { amr: ['TOTP'], aal: 2 },
  AAL2_NHSMAIL: { amr: ['NHSMAIL'], aal: 2 },
  AAL3_PASSKEY: { amr: ['PASSKEY'], aal: 3 },
  AAL2_PASSKEY: { amr: ['PASSKEY'], aal: 2 },
}

/** The level classes: met by any method at or above the level ("With AAL2 requested, users may use AAL2 or AAL3"). */
const byLevel: Partial<Record<Acr, 2 | 3>> = {
  AAL3_ANY: 3,
  AAL2_OR_AAL3_ANY: 2,
  AAL2_ANY: 2,
}

export function isAcr(value: string): value is Acr {
  return (acrValuesSupported as readonly string[]).includes(value)
}

/** Whether a sign-in with `amr` at level `aal` meets `acr`. */
export function meets(acr: Acr, amr: readonly string[], aal: number): boolean {
  const level = byLevel[acr]
  if (level !== undefined) return aal >= level
  const method = byMethod[acr]
  return method !== undefined && aal >= method.aal && amr.some((m) => method.amr.includes(m))
}

/** The first requested class (in preference order) the sign-in meets, if any. */
export function satisfiedAcr(requested: readonly Acr[], amr: readonly string[], aal: number): Acr | undefined {
  return requested.find((acr) => meets(acr, amr, aal))
}

/** The requested classes, known values only, in order; the default when none is given. */
export function requestedAcrs(values: readonly string[]): Acr[] {
  const known = values.filter(isAcr)
  return known.length > 0 ? known : [defaultAcr]
}
