/** The Identity Agent protocol's refusal is a member of the one error family (@careid/ports errors.ts). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OAuthError, PluginRefusal } from '@careid/ports'
import { AgentError } from '../src/agent_protocol.ts'

describe('AgentError', () => {
  it("makes the agent protocol's refusal a member of the family, carrying attempts_left in its body fields", () => {
    const wrong = new AgentError('wrong_passcode', 401, 'the passcode is wrong', 2)
    assert.ok(wrong instanceof OAuthError)
    assert.ok(wrong instanceof PluginRefusal)
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
