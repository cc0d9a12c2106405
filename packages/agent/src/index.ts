/** The Identity Agent: card reader, card session with the provider, local API, terminal UI. */
export { createAgent, type Agent, type AgentMode, type AgentOptions, type AgentStatus, type Prompter, type TicketResult, type TicketRefusal } from './agent.ts'
export { startLocalApi, type LocalApi, type LocalApiOptions } from './local_api.ts'
export { peerOwnerVisible } from './peer_owner.ts'
export { createProviderClient, ProviderRefusal, ProviderUnreachable, type ProviderClient, type OpenedCardSession, type RoleOption } from './provider_client.ts'
export { createAgentKey, signCompact, signGeneral, type AgentKey } from './signing.ts'
export { createTerminal, type Terminal } from './terminal.ts'
