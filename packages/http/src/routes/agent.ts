/**
 * The Identity Agent's provider endpoints, `{issuer}/agent/...`: JSON in, JSON out, mapped onto the
 * agent protocol in @careid/oidc. Refusals are rendered by the one error renderer as JSON
 * (`{ error, error_description }`, and `attempts_left` after a wrong passcode) with the status the
 * protocol chose; nothing here logs a body (assertions, secrets) or the Authorization header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { agentPaths, type AgentProtocol } from '@careid/oidc'

export interface AgentRouteOptions {
  agent: AgentProtocol
  base: string
}

/** The protocol's answer; a refusal (an AgentError) goes to the server's error handler, which renders it like any other. */
async function answer(reply: FastifyReply, work: () => Promise<unknown>): Promise<FastifyReply> {
  const body = await work()
  return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(body))
}

function caller(request: FastifyRequest) {
  const proof = request.headers['agent-proof']
  return { authorization: request.headers.authorization, proof: typeof proof === 'string' ? proof : undefined }
}

export async function agentRoutes(app: FastifyInstance, options: AgentRouteOptions): Promise<void> {
  const { agent, base } = options
  const config = { config: { errorFormat: 'json' as const } }
  app.post(base + agentPaths.challenge, config, (request, reply) => answer(reply, () => agent.challenge(request.body)))
  app.post(base + agentPaths.cardLocked, config, (request, reply) => answer(reply, () => agent.cardLocked(request.body)))
  app.post(base + agentPaths.passcode, config, (request, reply) => answer(reply, () => agent.passcode(request.body)))
  app.post(base + agentPaths.session, config, (request, reply) => answer(reply, () => agent.openSession(request.body)))
  app.post(base + agentPaths.role, config, (request, reply) => answer(reply, () => agent.selectRole(caller(request), request.body)))
  app.post(base + agentPaths.end, config, (request, reply) => answer(reply, () => agent.endSession(caller(request))))
}
