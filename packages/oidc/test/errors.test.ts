/**
 * One error family: every refusal Careid sends is an OAuthError whose `error` is one of the wire
 * codes listed in @careid/ports' errors.ts, the Identity Agent protocol's included, so the one
 * renderer turns any of them into a body and the metrics know every code.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as errors from '../src/errors.ts'

const { OAuthError, agentErrorCodes, errorCodes, oauthErrorCodes, platformErrorCodes } = errors

describe('error family', () => {
  it('lists every code a wire class sends', () => {
    type Wire = new (description: string) => InstanceType<typeof OAuthError>
    const exported: unknown[] = Object.values(errors)
    const classes = exported.filter((v): v is Wire => typeof v === 'function' && v.prototype instanceof OAuthError && v !== errors.ServerError)
    assert.ok(classes.length >= 20)
    for (const Wire of classes) assert.ok((errorCodes as readonly string[]).includes(new Wire('x').error), new Wire('x').error)
    assert.equal(new errors.ServerError().error, 'server_error')
    assert.ok((oauthErrorCodes as readonly string[]).includes('server_error'))
  })

  it('keeps each code once: the OAuth codes, then the agent protocol codes and the API Platform codes the OAuth list lacks', () => {
    assert.equal(new Set(errorCodes).size, errorCodes.length)
    assert.deepEqual([...errorCodes], [...oauthErrorCodes, ...agentErrorCodes, ...platformErrorCodes, 'not_found'])
    assert.deepEqual([...platformErrorCodes], ['public_key error', 'unknown_error', 'bad_request', 'not_implemented', 'Access Denied'])
  })
})
