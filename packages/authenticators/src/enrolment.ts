/**
 * The enrolment port for the credentials kept in the store's credential table (password, TOTP):
 * register through the authenticator's own enrolment, list and remove by kind, for one person.
 */
import type { CredentialContext, CredentialKind, CredentialRecord, EnrolledCredential, Enrolment } from '@careid/ports'
import { enrolPassword } from './password/enrol.ts'
import { PASSWORD_KIND } from './password/form.ts'
import { TOTP_KIND } from './totp/authenticator.ts'
import { enrolTotp, type TotpEnrolment } from './totp/enrol.ts'

type Credentials = Pick<CredentialContext, 'credentials'>

/** List and remove, shared by every kind: a person's credentials of `kind`, never their secret. */
function byKind(parts: Credentials, kind: string): Pick<Enrolment<never, never>, 'list' | 'remove'> {
  const listed = (c: CredentialRecord): EnrolledCredential => ({ id: c.id, kind: c.kind, created_at: c.created_at })
  return {
    async list(uid) {
      return (await parts.credentials.listByPerson(uid)).filter((c) => c.kind === kind).map(listed)
    },
    async remove(uid, id) {
      // Only the person's own credential of this kind: an id is never enough to remove someone else's.
      const credential = await parts.credentials.get(id)
      if (credential === undefined || credential.uid !== uid || credential.kind !== kind) return false
      return parts.credentials.remove(id)
    },
  }
}

/** Passwords: register sets the person's password (its argon2id hash), replacing the previous one. */
export function passwordEnrolment(parts: Credentials): Enrolment<{ password: string }, EnrolledCredential> {
  return {
    kind: PASSWORD_KIND,
    ...byKind(parts, PASSWORD_KIND),
    async register(uid, input, now) {
      const credential = await enrolPassword(parts, uid, input.password, now)
      return { id: credential.id, kind: credential.kind, created_at: credential.created_at }
    },
  }
}

/**
 * Authenticator apps: register gives the person a new TOTP secret (replacing the previous one) and
 * returns it once, to show; `label` is the account name the app shows (the username for people).
 */
export function totpEnrolment(parts: Pick<CredentialContext, 'credentials' | 'secrets'>): Enrolment<{ label?: string | undefined }, TotpEnrolment> {
  return {
    kind: TOTP_KIND,
    ...byKind(parts, TOTP_KIND),
    register: (uid, input, now) => enrolTotp(parts, parts.secrets, uid, now, input.label ?? uid),
  }
}

/**
 * The password and authenticator-app credentials as a person sees and removes them on their sign-in
 * methods page. The app is the second step after the password, so the password is not removed
 * while the person holds an app (remove the app first); the account area keeps the last one.
 */
export function credentialKinds(parts: Credentials): CredentialKind[] {
  const passwords = byKind(parts, PASSWORD_KIND)
  const apps = byKind(parts, TOTP_KIND)
  return [
    {
      kind: PASSWORD_KIND,
      label: 'Password',
      list: passwords.list,
      async remove(uid, id) {
        if ((await apps.list(uid)).length > 0) return false
        return passwords.remove(uid, id)
      },
    },
    { kind: TOTP_KIND, label: 'Authenticator app', ...apps },
  ]
}
