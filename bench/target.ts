/** What a benchmark server tells the load generator once it listens, and what the generator then knows. */

/** A server announces it is listening by printing this marker, then its details as JSON, on one line. */
export const readyMarker = 'BENCH_READY '

export function announceReady(details: object): void {
  process.stdout.write(`${readyMarker}${JSON.stringify(details)}\n`)
}

export interface ClientCredentials {
  client_id: string
  client_secret: string
}

export interface ServerReady {
  issuer: string
  clients: {
    /** Its token responses carry an RS256 JWT access token and an RS256 ID token. */
    jwt: ClientCredentials
    /** Its access tokens are accepted by the userinfo endpoint. */
    userinfo: ClientCredentials
  }
  /** Extra authorization request parameters this server needs for a password sign-in to qualify. */
  authorizeParams: Record<string, string>
  /** The argon2id parameters of the person's stored password hash (`m=…,t=…,p=…`). */
  argon2: string
}

export interface Endpoints {
  discovery: string
  jwks: string
  authorization: string
  token: string
  userinfo: string
}

export interface Target extends ServerReady {
  /** The server's processes: one, or one per node when it is scaled out. */
  pids: number[]
  /** The issuer's origin: what every URL the server hands out starts with. */
  origin: string
  /**
   * Where requests go, in turn (round robin, as a load balancer would spread them): the origin
   * itself, or one origin per node sharing the issuer.
   */
  nodes: string[]
  endpoints: Endpoints
  redirectUri: string
  user: { username: string; password: string }
}
