/**
 * A change the administrator asked for that cannot be made as asked (an unknown client, a revoked
 * card). The message says why, for the administrator; it never holds a secret. Nothing was changed.
 */
export class AdminRefusal extends Error {
  override name = 'AdminRefusal'
}
