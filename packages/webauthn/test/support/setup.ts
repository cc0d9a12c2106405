/**
 * The plugin's ceremonies wired to an in-memory store, a software authenticator and a test CA whose
 * root the metadata trusts for one AAGUID.
 */
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server'
import type { AuthenticatorContext, EnrolmentContext, EnrolmentResult, Json, StepResult, StepView } from '@careid/ports'
import { anchorOfCertificate, relyingPartyOf, webAuthnAuthenticator, webAuthnEnroller, type AuthenticatorModel, type WebAuthnKind } from '../../src/index.ts'
import { enrolmentContext, memoryContext, type MemoryContext } from './memory_context.ts'
import { SoftAuthenticator, testCa, type SoftAuthenticatorOptions, type TestCa } from './soft_authenticator.ts'

export const issuer = 'https://careid.test/realms/Healthcare'
export const origin = 'https://careid.test'
export const rp = relyingPartyOf(issuer, 'Careid')
export const modelAaguid = '6a1f2b3c-4d5e-4f60-8172-839495a6b7c8'

export interface World {
  store: MemoryContext
  ca: TestCa
  trust: Map<string, AuthenticatorModel>
  /** Registers a credential of `kind` made by `authenticator` for `uid`: the enroller's result. */
  register(kind: WebAuthnKind, authenticator: SoftAuthenticator, options?: { uid?: string; maxAal?: 1 | 2 | 3; now?: number; tamper?: (response: Json & object) => void; origin?: string; rpId?: string }): Promise<EnrolmentResult>
  /** Starts a sign-in with `kind`: its state and the options the page carries. */
  startSignIn(kind: WebAuthnKind, now?: number): Promise<{ state: Json; options: PublicKeyCredentialRequestOptionsJSON; view: StepView }>
  submitSignIn(kind: WebAuthnKind, state: Json, response: unknown, now?: number): Promise<StepResult>
}

export async function world(options: { trusted?: boolean } = {}): Promise<World> {
  const store = memoryContext()
  const ca = await testCa()
  const trust = new Map<string, AuthenticatorModel>()
  if (options.trusted !== false) trust.set(modelAaguid, { aaguid: modelAaguid, description: 'Test Key 5', anchors: [anchorOfCertificate(ca.rootPem)], compromised: false })
  const signInCtx = (now: number): AuthenticatorContext & MemoryContext => ({ ...store, now })
  return {
    store,
    ca,
    trust,
    async register(kind, authenticator, o = {}) {
      const enroller = webAuthnEnroller(kind, rp, () => trust)
      const ctx: EnrolmentContext & MemoryContext = { ...store, ...enrolmentContext(o.uid ?? 'u100', o.maxAal ?? 3, o.now ?? Date.now()) }
      const { state, view } = await enroller.start(ctx)
      const creation = JSON.parse(String(view.data?.['options' as never])) as PublicKeyCredentialCreationOptionsJSON
      const response = await authenticator.create(creation, o.origin ?? origin, o.rpId === undefined ? {} : { rpId: o.rpId })
      o.tamper?.(response as never)
      return enroller.submit(ctx, state, { response: JSON.stringify(response) })
    },
    async startSignIn(kind, now = Date.now()) {
      const { state, view } = await webAuthnAuthenticator(kind, rp).start(signInCtx(now))
      return { state, view, options: JSON.parse(String(view.data?.['options' as never])) as PublicKeyCredentialRequestOptionsJSON }
    },
    submitSignIn(kind, state, response, now = Date.now()) {
      return webAuthnAuthenticator(kind, rp).submit(signInCtx(now), state, { response: typeof response === 'string' ? response : JSON.stringify(response) })
    },
  }
}

export function softKey(options: Partial<SoftAuthenticatorOptions> & { ca?: TestCa | undefined }): SoftAuthenticator {
  return new SoftAuthenticator({ aaguid: modelAaguid, attestation: 'packed', ...options })
}
