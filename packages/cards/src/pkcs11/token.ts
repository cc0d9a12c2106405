/**
 * PKCS#11 plumbing shared by the reader and the issuer: one loaded module per library path (a
 * library can be initialised once per process), finding a token by its label, and reading the card
 * certificate it holds.
 *
 * A card on a token is a private key (CKO_PRIVATE_KEY, sensitive, not extractable, CKA_SIGN) and its
 * certificate (CKO_CERTIFICATE, X.509), which share a CKA_ID.
 */
import { createRequire } from 'node:module'
import type * as Pkcs11js from 'pkcs11js'

export type Pkcs11 = Pkcs11js.PKCS11
export type Handle = Buffer

const require = createRequire(import.meta.url)
let library: typeof Pkcs11js | undefined

/**
 * pkcs11js, loaded on first use: its native addon is needed only where tokens are used, not by the
 * provider, which imports this package for the card authority alone.
 */
export function lib(): typeof Pkcs11js {
  library ??= require('pkcs11js') as typeof Pkcs11js
  return library
}

interface Loaded {
  pkcs11: Pkcs11
  /** Readers and issuers using it; the last one to let go finalises the library. */
  users: number
  /** Sessions open now: while any is, the library cannot be re-initialised. */
  sessions: number
}

const loaded = new Map<string, Loaded>()

/** A handle on a loaded PKCS#11 library; `release` when done. */
export interface ModuleHandle {
  readonly pkcs11: Pkcs11
  /**
   * Some libraries (SoftHSM2) learn of tokens only at initialisation: with no session open, this
   * re-initialises the library so that a token added since is seen. Returns false when it could not.
   */
  rescan(): boolean
  openSession(slot: Handle, readWrite: boolean): Handle
  closeSession(session: Handle): void
  release(): void
}

export function loadModule(path: string): ModuleHandle {
  let entry = loaded.get(path)
  if (entry === undefined) {
    const pkcs11 = new (lib().PKCS11)()
    pkcs11.load(path)
    try {
      pkcs11.C_Initialize()
    } catch (error) {
      // Another part of this process (not through here) initialised it first: share it.
      if (!isPkcs11Error(error, lib().CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw error
    }
    entry = { pkcs11, users: 0, sessions: 0 }
    loaded.set(path, entry)
  }
  entry.users++
  const self = entry
  let released = false
  return {
    pkcs11: self.pkcs11,
    rescan() {
      if (self.sessions > 0) return false
      self.pkcs11.C_Finalize()
      self.pkcs11.C_Initialize()
      return true
    },
    openSession(slot, readWrite) {
      const flags = lib().CKF_SERIAL_SESSION | (readWrite ? lib().CKF_RW_SESSION : 0)
      const session = self.pkcs11.C_OpenSession(slot, flags)
      self.sessions++
      return session
    },
    closeSession(session) {
      self.sessions--
      try {
        self.pkcs11.C_CloseSession(session)
      } catch {
        // Already gone with its token: nothing left to close.
      }
    },
    release() {
      if (released) return
      released = true
      if (--self.users > 0) return
      loaded.delete(path)
      try {
        self.pkcs11.C_Finalize()
      } finally {
        self.pkcs11.close()
      }
    },
  }
}

export function isPkcs11Error(error: unknown, code: number): boolean {
  return error instanceof Error && (error as Error & { code?: unknown }).code === code
}

/** A token found by label: its slot and the serial number that tells one token from another. */
export interface TokenRef {
  slot: Handle
  tokenSerial: string
}

/** The token labelled `label` that is present now, or undefined. */
export function findToken(pkcs11: Pkcs11, label: string): TokenRef | undefined {
  for (const slot of pkcs11.C_GetSlotList(true)) {
    try {
      const token = pkcs11.C_GetTokenInfo(slot)
      if (token.label.trimEnd() === label) return { slot, tokenSerial: token.serialNumber.trimEnd() }
    } catch {
      // A token that cannot be read (SoftHSM2 after its files are gone) is not there.
    }
  }
  return undefined
}

/** Whether that very token (same slot and serial) is still present. */
export function tokenPresent(pkcs11: Pkcs11, token: TokenRef): boolean {
  try {
    return pkcs11.C_GetSlotList(true).some((slot) => slot.equals(token.slot)) && pkcs11.C_GetTokenInfo(token.slot).serialNumber.trimEnd() === token.tokenSerial
  } catch {
    return false
  }
}

export function findObjects(pkcs11: Pkcs11, session: Handle, template: Pkcs11js.Template): Handle[] {
  pkcs11.C_FindObjectsInit(session, template)
  try {
    return pkcs11.C_FindObjects(session, 16)
  } finally {
    pkcs11.C_FindObjectsFinal(session)
  }
}

/** The X.509 certificates on the token (public objects: no login needed), with their CKA_ID. */
export function certificatesOn(pkcs11: Pkcs11, session: Handle): { id: Buffer; der: Buffer }[] {
  const handles = findObjects(pkcs11, session, [
    { type: lib().CKA_CLASS, value: lib().CKO_CERTIFICATE },
    { type: lib().CKA_CERTIFICATE_TYPE, value: lib().CKC_X_509 },
  ])
  return handles.map((handle) => {
    const [id, value] = pkcs11.C_GetAttributeValue(session, handle, [{ type: lib().CKA_ID }, { type: lib().CKA_VALUE }])
    return { id: id?.value as Buffer, der: value?.value as Buffer }
  })
}
