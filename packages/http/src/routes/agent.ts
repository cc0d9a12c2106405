/**
 * The Identity Agent's provider endpoints, `{issuer}/agent/...`: JSON in, JSON out, mapped onto the
 * agent protocol in @careid/oidc. Refusals answer `{ error, error_description }` with the status
 * the protocol chose; nothing here logs a body (assertions, secrets) or the Authorization header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AgentError, agentPaths, type AgentProtocol } from '@careid/oidc'
import { noteRefusal } from '../metrics.ts'

export interface AgentRouteOptions {
  agent: AgentProtocol
  base: string
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(body))
}

async function answer(request: FastifyRequest, reply: FastifyReply, work: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    return send(reply, 200, await work())
  } catch (error) {
    if (error instanceof AgentError) {
      noteRefusal(request, error)
      const left = error.attempts_left === undefined ? {} : { attempts_left: error.attempts_left }
      return send(reply, error.status, { error: error.error, error_description: error.description, ...left })
    }
    throw error
  }
}

function caller(request: FastifyRequest) {
  const proof = request.headers['agent-proof']
  return { authorization: request.headers.authorization, proof: typeof proof === 'string' ? proof : undefined }
}

export async function agentRoutes(app: FastifyInstance, options: AgentRouteOptions): Promise<void> {
  const { agent, base } = options
  const config = { config: { errorFormat: 'json' as const } }
  app.post(base + agentPaths.challenge, config, (request, reply) => answer(request, reply, () => agent.challenge(request.body)))
  app.post(base + agentPaths.cardLocked, config, (request, reply) => answer(request, reply, () => agent.cardLocked(request.body)))
  app.post(base + agentPaths.passcode, config, (request, reply) => answer(request, reply, () => agent.passcode(request.body)))
  app.post(base + agentPaths.session, config, (request, reply) => answer(request, reply, () => agent.openSession(request.body)))
  app.post(base + agentPaths.role, config, (request, reply) => answer(request, reply, () => agent.selectRole(caller(request), request.body)))
  app.post(base + agentPaths.end, config, (request, reply) => answer(request, reply, () => agent.endSession(caller(request))))
}
