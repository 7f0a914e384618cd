/**
 * The capabilities (SPEC §4.1): the reference's ten in its order, then ours (`net`, issue 23). A capability is what a
 * hostcall needs; the static method table (`methods.ts`) derives it from the method, never from what the caller claims.
 */
export const CAPABILITIES = ['read', 'write', 'http', 'events', 'session', 'ui', 'exec', 'env', 'tool', 'log', 'net'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * Denied unless the operator opts in with `allowDangerous` (SPEC §4.2, INV-007): exec and env as in the reference,
 * and net, since a socket to a local server reaches whatever that server can do (ADR 0038).
 */
export const DANGEROUS_CAPABILITIES: readonly Capability[] = ['exec', 'env', 'net'];

export const CAPABILITY_INDEX: ReadonlyMap<Capability, number> = new Map(CAPABILITIES.map((c, i) => [c, i]));

export const CAPABILITY_MEANING: Readonly<Record<Capability, string>> = {
  read: 'read files and directories',
  write: 'write, create, rename and delete files and directories',
  http: 'outbound HTTP requests',
  events: 'subscribe to and emit lifecycle events; register tools, commands, flags, shortcuts, renderers',
  session: 'read and change session state, messages, model and tool selection',
  ui: 'dialogs, notifications, widgets and editor access in the user interface',
  exec: 'spawn processes (dangerous)',
  env: 'read environment variables and provider credentials (dangerous)',
  tool: 'invoke tools other than the built-in file and shell tools',
  log: 'write to the extension log',
  net: 'connect to a local Unix socket or loopback TCP port named in its grant, such as a language server it started (dangerous)',
};

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && CAPABILITY_INDEX.has(value as Capability);
}

export function isDangerous(capability: Capability): boolean {
  return DANGEROUS_CAPABILITIES.includes(capability);
}
