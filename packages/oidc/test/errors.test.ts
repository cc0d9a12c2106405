/**
 * One error family: every refusal Careid sends is an OAuthError whose `error` is one of the wire
 * codes listed in errors.ts, the Identity Agent protocol's included, so the one renderer turns any
 * of them into a body and the metrics know every code.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AgentError } from '../src/agent_protocol.ts'
import * as errors from '../src/errors.ts'

const { OAuthError, agentErrorCodes, errorCodes, oauthErrorCodes } = errors

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

  it('keeps each code once: the OAuth codes, then the agent protocol codes the OAuth list lacks', () => {
    assert.equal(new Set(errorCodes).size, errorCodes.length)
    assert.deepEqual([...errorCodes], [...oauthErrorCodes, ...agentErrorCodes, 'not_found'])
  })

  it("makes the agent protocol's refusal a member of the family, carrying attempts_left in its body fields", () => {
    const wrong = new AgentError('wrong_passcode', 401, 'the passcode is wrong', 2)
    assert.ok(wrong instanceof OAuthError)
    assert.equal(wrong.name, 'AgentError')
    assert.equal(wrong.error, 'wrong_passcode')
    assert.equal(wrong.status, 401)
    assert.equal(wrong.error_description, 'the passcode is wrong')
    assert.equal(wrong.attempts_left, 2)
    assert.deepEqual(wrong.fields, { attempts_left: 2 })
    assert.equal(wrong.allowRedirect, false, 'the agent protocol has no redirect URI')
    const locked = new AgentError('card_locked', 403, 'the card is locked: three wrong passcodes')
    assert.equal(locked.attempts_left, undefined)
    assert.deepEqual(locked.fields, {})
  })
})
