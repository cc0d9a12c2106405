/**
 * `careid agent start|insert|eject`: the Identity Agent on a worker's computer.
 *
 * The card reader is a virtual one by default: a card file (from `careid cards issue`) is
 * "inserted" when it is at `<agent dir>/reader/card.json`, which `insert` copies it to and `eject`
 * removes. With `--pkcs11-module` the reader is a PKCS#11 token (OpenSC for a real card, SoftHSM2
 * for tests). The agent listens on 127.0.0.1 only, for the provider's sign-in page, and on
 * `<agent dir>/agent.sock` for its user's own applications.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { cis2RealmPath } from '../settings.ts'
import { UsageError } from './usage_error.ts'

export interface AgentFlags {
  provider?: string | undefined
  mode?: string | undefined
  port?: string | undefined
  agentDir?: string | undefined
  pkcs11Module?: string | undefined
  tokenLabel?: string | undefined
  singleUserMachine?: boolean | undefined
}

export const defaultProvider = `http://localhost:8080${cis2RealmPath}`
export const defaultAgentPort = 4445

export function agentDir(flags: AgentFlags): string {
  return resolve(flags.agentDir ?? process.env.CAREID_AGENT_DIR ?? '.careid-agent')
}

/** The local API's Unix domain socket, for native applications of the agent's user. */
export function agentSocketPath(dir: string): string {
  return join(dir, 'agent.sock')
}

/** Where the virtual reader looks for its card. */
export function readerCardPath(dir: string): string {
  return join(dir, 'reader', 'card.json')
}

/** `careid agent insert <card file>`: puts a card file in the virtual reader. */
export async function insertCard(flags: AgentFlags, file: string, out: (line: string) => void): Promise<void> {
  if (!existsSync(file)) throw new UsageError(`no card file at ${file}`)
  const content = readFileSync(file, 'utf8')
  // Loaded here: the other agent commands need no X.509.
  const { readCardFile } = await import('@careid/cards')
  const reading = readCardFile(content)
  if (!reading.ok) throw new UsageError(reading.reason === 'older_format' ? reading.message : `${file} is not a card file`)
  const dir = agentDir(flags)
  mkdirSync(join(dir, 'reader'), { recursive: true, mode: 0o700 })
  // Written aside and renamed, so a watching reader never sees half a card; readable by its owner only.
  const partial = `${readerCardPath(dir)}.partial`
  writeFileSync(partial, content, { mode: 0o600 })
  renameSync(partial, readerCardPath(dir))
  out(`Card inserted in ${readerCardPath(dir)}.`)
}

/** `careid agent eject`: takes the card out of the virtual reader (a running agent signs out). */
export function ejectCard(flags: AgentFlags, out: (line: string) => void): void {
  const path = readerCardPath(agentDir(flags))
  if (!existsSync(path)) {
    out('There is no card in the reader.')
    return
  }
  rmSync(path, { force: true })
  out('Card ejected.')
}
