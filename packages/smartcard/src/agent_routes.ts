/**
 * The Identity Agent's provider endpoints, `{issuer}/agent/...`: JSON in, JSON out, mapped onto the
 * agent protocol. Refusals are `AgentError`s, which the HTTP layer answers as
 * `{ error, error_description }` with the status the protocol chose; nothing here logs a body
 * (assertions, secrets) or the Authorization header.
 */
import type { PluginRequest, PluginRoute } from '@careid/ports'
import { agentPaths, type AgentCaller, type AgentProtocol } from './agent_protocol.ts'

function caller(request: PluginRequest): AgentCaller {
  return { authorization: request.header('authorization'), proof: request.header('agent-proof') }
}

export function agentRoutes(agent: AgentProtocol): PluginRoute[] {
  const post = (path: string, handle: PluginRoute['handle']): PluginRoute => ({ method: 'POST', path, handle })
  return [
    post(agentPaths.challenge, (request) => agent.challenge(request.body)),
    post(agentPaths.cardLocked, (request) => agent.cardLocked(request.body)),
    post(agentPaths.passcode, (request) => agent.passcode(request.body)),
    post(agentPaths.session, (request) => agent.openSession(request.body)),
    post(agentPaths.role, (request) => agent.selectRole(caller(request), request.body)),
    post(agentPaths.end, (request) => agent.endSession(caller(request))),
  ]
}
