/**
 * The agent's terminal UI: status lines, a masked passcode prompt, a numbered role choice, and a
 * few commands (`status`, `sign-in`, `eject`, `quit`). On a terminal the passcode shows as `*`;
 * without one (a pipe, as in tests) the same prompts are read line by line, so the agent can be
 * driven by a script. Typed passcodes are never written anywhere.
 */
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import type { Prompter } from './agent.ts'
import type { RoleOption } from './provider_client.ts'

export interface Terminal extends Prompter {
  /** Lines typed while no question is waiting. */
  onCommand(handler: (command: string) => void): void
  close(): void
}

export function createTerminal(options: { input: Readable; output: Writable; tty: boolean }): Terminal {
  const { output } = options
  const rl = createInterface({ input: options.input, output, terminal: options.tty })
  let waiting: ((line: string | undefined) => void) | undefined
  let commandHandler: ((command: string) => void) | undefined
  let masked = false
  let closed = false

  // readline echoes what is typed through _writeToOutput; while a passcode is typed, each character shows as '*'.
  const internals = rl as unknown as { _writeToOutput: (text: string) => void }
  const echo = internals._writeToOutput.bind(rl)
  internals._writeToOutput = (text: string) => {
    if (!masked) return echo(text)
    if (text === '\r\n' || text === '\n') return echo(text)
    if (text.length === 1) return echo('*')
  }

  rl.on('line', (line) => {
    const answer = waiting
    if (answer !== undefined) {
      waiting = undefined
      answer(line.trim())
    } else if (line.trim() !== '') commandHandler?.(line.trim())
  })
  rl.on('close', () => {
    closed = true
    waiting?.(undefined)
    waiting = undefined
  })

  function ask(question: string, mask = false): Promise<string | undefined> {
    if (closed) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      waiting = (line) => {
        masked = false
        resolve(line)
      }
      output.write(question)
      masked = mask && options.tty
    })
  }

  return {
    say(line) {
      output.write(`${line}\n`)
    },
    async passcode({ uid, attemptsLeft }) {
      const left = attemptsLeft === undefined ? '' : `${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} before it locks; `
      const line = await ask(`Passcode for the card of ${uid} (${left}empty line to cancel): `, true)
      return line === undefined || line === '' ? undefined : line
    },
    async chooseRole(roles: RoleOption[]) {
      output.write('Choose the role for this session:\n')
      roles.forEach((role, i) => output.write(`  ${i + 1}. ${role.job_role} at ${role.org_name} (${role.org_code}) [${role.person_roleid}]\n`))
      for (;;) {
        const line = await ask(`Role [1-${roles.length}] (empty line to skip): `)
        if (line === undefined || line === '') return undefined
        const chosen = roles[Number(line) - 1]
        if (/^[0-9]+$/.test(line) && chosen !== undefined) return chosen.person_roleid
        output.write(`Type a number from 1 to ${roles.length}.\n`)
      }
    },
    onCommand(handler) {
      commandHandler = handler
    },
    close() {
      rl.close()
    },
  }
}
