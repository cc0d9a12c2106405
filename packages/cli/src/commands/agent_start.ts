/** `careid agent start`: the running agent (loaded on demand: the other commands need none of it). */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createAgent, createAgentKey, createProviderClient, createTerminal, peerOwnerVisible, startLocalApi, type AgentMode, type LocalApi } from '@careid/agent'
import { Pkcs11CardReader, VirtualCardReader, type CardReader } from '@careid/cards'
import { StartupError } from '../context.ts'
import { agentDir, agentSocketPath, defaultAgentPort, defaultProvider, readerCardPath, type AgentFlags } from './agent.ts'
import { UsageError } from './usage_error.ts'

function openReader(flags: AgentFlags, dir: string): { reader: CardReader; describe: string } {
  if (flags.pkcs11Module !== undefined) {
    if (flags.tokenLabel === undefined) throw new UsageError("--pkcs11-module needs --token-label (the card's token label)")
    return { reader: new Pkcs11CardReader({ module: flags.pkcs11Module, tokenLabel: flags.tokenLabel }), describe: `PKCS#11 token "${flags.tokenLabel}" through ${flags.pkcs11Module}` }
  }
  mkdirSync(join(dir, 'reader'), { recursive: true, mode: 0o700 })
  return { reader: new VirtualCardReader(readerCardPath(dir)), describe: `virtual reader ${readerCardPath(dir)}` }
}

export async function startAgentCommand(flags: AgentFlags, out: (line: string) => void): Promise<void> {
  const issuer = (flags.provider ?? process.env.CAREID_AGENT_PROVIDER ?? defaultProvider).replace(/\/$/, '')
  let providerOrigin: string
  try {
    const url = new URL(issuer)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    providerOrigin = url.origin
  } catch {
    throw new UsageError('--provider must be the issuer URL of the Careid provider')
  }
  const mode = (flags.mode ?? 'identity-agent') as AgentMode
  if (mode !== 'identity-agent' && mode !== 'smartcard-connect') throw new UsageError('--mode must be identity-agent or smartcard-connect')
  const port = Number(flags.port ?? process.env.CAREID_AGENT_PORT ?? defaultAgentPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number')
  const dir = agentDir(flags)
  const { reader, describe } = openReader(flags, dir)
  const key = await createAgentKey()
  const terminal = createTerminal({ input: process.stdin, output: process.stdout, tty: process.stdin.isTTY === true && process.stdout.isTTY === true })
  const agent = createAgent({ issuer, mode, reader, provider: createProviderClient({ issuer, key }), key, prompter: terminal })
  const singleUserMachine = flags.singleUserMachine === true
  // On Windows Node listens on a named pipe instead, not a file that a private directory can guard.
  const socketPath = process.platform === 'win32' ? undefined : agentSocketPath(dir)
  let api: LocalApi
  try {
    api = await startLocalApi({ agent, providerOrigin, port, socketPath, singleUserMachine })
  } catch (error) {
    await reader.close()
    throw new StartupError(`the local API cannot start: ${error instanceof Error ? error.message : String(error)}`)
  }
  out(`Local API on ${api.origin} (for pages from ${providerOrigin}); card reader: ${describe}.`)
  if (api.socketPath !== undefined) out(`Local API for this user's own applications on ${api.socketPath} (no Origin needed).`)
  if (!peerOwnerVisible && !singleUserMachine) {
    out(`This system cannot tell which user a connection to ${api.origin} comes from, so the agent refuses them all (the browser too).`)
    out('If only one person uses this computer at a time, start the agent with --single-user-machine.')
  }
  out('Commands: status, sign-in, eject, quit.')

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      await api.close()
      await agent.stop()
      terminal.close()
      process.exit(0)
    })())
  terminal.onCommand((command) => {
    if (command === 'status') out(JSON.stringify(agent.status()))
    else if (command === 'sign-in') void agent.signIn()
    else if (command === 'eject') {
      if (flags.pkcs11Module !== undefined) out('Remove the card from the reader.')
      else rmSync(readerCardPath(dir), { force: true })
    } else if (command === 'quit') void stop()
    else out('Commands: status, sign-in, eject, quit.')
  })
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => void stop())
  await agent.start()
}

