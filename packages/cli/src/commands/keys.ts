/** `careid keys list|rotate`: the provider's signing keys. */
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor } from './admin.ts'

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString())

export async function listKeys(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  for (const k of ctx.keys.list()) {
    out(`${k.kid}  ${k.alg}  ${k.state.padEnd(7)}  created ${iso(k.created_at)}  signs from ${iso(k.activate_at)}  published until ${iso(k.remove_at)}`)
  }
}

export async function rotateKeys(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  // Every node is told, and publishes the new key at once, well before it signs.
  const kid = await adminServices(ctx).keys.rotate(cliActor())
  const next = ctx.keys.list().find((k) => k.kid === kid)
  out(`New signing key ${kid} is published now and signs from ${iso(next?.activate_at)}.`)
  out('The current key keeps signing until then, and stays published until every token it signed has expired.')
}
