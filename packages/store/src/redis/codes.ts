/**
 * Authorization codes in Redis: one hash per code, redeemed by a script that reads and marks it in
 * one atomic step, so exactly one of any number of concurrent redeemers sees `first`.
 */
import type { AuthorizationCodeRecord, CodeRedemption, CodeStore } from '@careid/ports'
import { fieldMap, removeEnded, required, type RedisContext } from './scripts.ts'

function toCode(fields: ReadonlyMap<string, string>): AuthorizationCodeRecord {
  return {
    code_hash: required(fields, 'code_hash'),
    client_id: required(fields, 'client_id'),
    redirect_uri: required(fields, 'redirect_uri'),
    grant_id: required(fields, 'grant_id'),
    expires_at: Number(required(fields, 'expires_at')),
    payload: JSON.parse(required(fields, 'payload')) as AuthorizationCodeRecord['payload'],
  }
}

/**
 * Codes, kept (and indexed by expires_at) until `removeExpired` deletes them past expires_at +
 * retainMs, so a late replay is still seen as reuse; their TTL is only a backstop for a sweep that
 * never comes.
 */
export function redisCodeStore(context: RedisContext): CodeStore {
  return {
    async save(code) {
      await context.run(
        'codeSave',
        [context.key('code', code.code_hash), context.key('expiry', 'codes')],
        [
          code.code_hash,
          String(code.expires_at),
          ...['code_hash', code.code_hash, 'client_id', code.client_id, 'redirect_uri', code.redirect_uri, 'grant_id', code.grant_id],
          ...['expires_at', String(code.expires_at), 'payload', JSON.stringify(code.payload)],
        ],
      )
    },
    async redeem(codeHash, now): Promise<CodeRedemption> {
      const [kind, ...fields] = (await context.run('codeRedeem', [context.key('code', codeHash)], [String(now)])) as [string, ...string[]]
      if (kind === 'first' || kind === 'reused') return { kind, code: toCode(fieldMap(fields)) }
      return { kind: 'absent' }
    },
    async removeExpired(now, retainMs) {
      return removeEnded(context, 'code', 'codes', now - retainMs)
    },
  }
}
