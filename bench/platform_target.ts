/** What the platform's benchmark server tells the load generator once it listens. */
import type { ServerReady } from './target.ts'

export interface PlatformReady extends ServerReady {
  platform: {
    /** The application's API key: its client_id at the platform, `iss` and `sub` of its assertions. */
    apiKey: string
    /** The platform's token endpoint: the `aud` of every client assertion. */
    tokenUrl: string
    /** The Patient API's base behind the gateway (`…/personal-demographics/FHIR/R4`). */
    patientApi: string
    /** One authenticator-app code of the worker, for the one AAL2 sign-in. */
    totpCode: string
  }
}

/** What the bare route's server tells the load generator. */
export interface BareReady {
  url: string
  /** The size of the JSON it answers with. */
  bytes: number
}
