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
] as const

export type Acr = (typeof acrValuesSupported)[number]

/** "If absent, CIS2 behaves as AAL3" (cis2.md 2). */
export const defaultAcr: Acr = 'AAL3_ANY'

/** The method-specific classes: met only by that amr. */
const byMethod: Partial<Record<Acr, readonly string[]>> = {
  AAL1_USERPASS: ['USERPASS'],
  AAL3_IOS: ['IOS'],
  AAL3_FIDO2: ['FIDO2'],
  AAL3_N3_SMARTCARD: ['N3_SMARTCARD'],
  AAL3_CIS2_SMARTCARD: ['CIS2_SMARTCARD'],
  AAL3_SMARTCARD: ['N3_SMARTCARD', 'CIS2_SMARTCARD'],
  AAL2_TOTP: ['TOTP'],
  AAL2_NHSMAIL: ['NHSMAIL'],
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
  return amr.some((m) => byMethod[acr]?.includes(m) === true)
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
