/**
 * The pi API contract as the sandbox implements it: every member of `pi` (ExtensionAPI), `ctx`
 * (ExtensionContext / ExtensionCommandContext), `ctx.ui`, `ctx.sessionManager` and `ctx.modelRegistry`, with the
 * hostcall method it becomes and how it is called. Names mirror pi 0.73.1, 1.5.2 and 1.6.0 (`dist/core/extensions/
 * types.d.ts`; 1.6.0's extension API is 1.5.2's) plus the older names most published extensions use (research digest
 * §1.7). Extension authors read this file to know what works in the sandbox.
 *
 * This file is pure data and small pure functions: it is bundled into the guest runtime as well as read by the host.
 *
 * Call modes:
 * - `sync`  — returns a value synchronously (pi's own signature is synchronous); a denial throws.
 * - `async` — returns a Promise; a denial rejects.
 * - `fire`  — fire-and-forget in pi (returns void); a denial is recorded by dispatch and not thrown, so a
 *             notification the policy refuses does not break the extension's handler.
 * - `local` — implemented inside the sandbox without a hostcall (registrations are hostcalls; see below).
 */

export type CallMode = 'sync' | 'async' | 'fire';

export interface MemberSpec {
  readonly method: string;
  readonly mode: CallMode;
  /** Maps the positional arguments to the method's params (which dispatch validates against its schema). */
  readonly params?: (args: readonly unknown[]) => Record<string, unknown>;
}

function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
}
const str = (value: unknown): string => (typeof value === 'string' ? value : String(value));
const positional = (args: readonly unknown[]): Record<string, unknown> => ({ args: [...args] });

/** `pi.*` members that act (registrations are handled by the guest registry and listed in REGISTRATIONS). */
export const PI_ACTIONS: Readonly<Record<string, MemberSpec>> = {
  sendMessage: { method: 'pi.sendMessage', mode: 'fire', params: ([m, o]) => ({ ...obj(o), ...obj(m) }) },
  sendUserMessage: { method: 'pi.sendUserMessage', mode: 'fire', params: ([content, o]) => ({ ...obj(o), content: content ?? '' }) },
  appendEntry: { method: 'pi.appendEntry', mode: 'fire', params: ([customType, data]) => ({ customType: str(customType), data }) },
  setSessionName: { method: 'pi.setSessionName', mode: 'fire', params: ([name]) => ({ name: str(name) }) },
  getSessionName: { method: 'pi.getSessionName', mode: 'sync', params: () => ({}) },
  setLabel: {
    method: 'pi.setLabel',
    mode: 'fire',
    params: ([entryId, label]) => (label === undefined ? { entryId: str(entryId) } : { entryId: str(entryId), label: str(label) }),
  },
  getActiveTools: { method: 'pi.getActiveTools', mode: 'sync', params: () => ({}) },
  getAllTools: { method: 'pi.getAllTools', mode: 'sync', params: () => ({}) },
  setActiveTools: {
    method: 'pi.setActiveTools',
    mode: 'fire',
    params: ([names]) => ({ names: Array.isArray(names) ? names.map(str) : [] }),
  },
  getCommands: { method: 'pi.getCommands', mode: 'sync', params: () => ({}) },
  setModel: { method: 'pi.setModel', mode: 'async', params: ([m]) => ({ provider: str(obj(m).provider ?? ''), id: str(obj(m).id ?? '') }) },
  getThinkingLevel: { method: 'pi.getThinkingLevel', mode: 'sync', params: () => ({}) },
  setThinkingLevel: { method: 'pi.setThinkingLevel', mode: 'fire', params: ([level]) => ({ level: str(level) }) },
  unregisterProvider: { method: 'pi.unregisterProvider', mode: 'fire', params: ([name]) => ({ name: str(name) }) },
  unregisterMcpServer: { method: 'pi.unregisterMcpServer', mode: 'fire', params: ([name]) => ({ name: str(name) }) },
  getMcpServers: { method: 'pi.getMcpServers', mode: 'sync', params: () => ({}) },
  getSettings: { method: 'pi.getSettings', mode: 'sync', params: () => ({}) },
  unregisterVirtualModel: { method: 'pi.unregisterVirtualModel', mode: 'fire', params: positional },
  getFlag: { method: 'pi.getFlag', mode: 'sync', params: ([name]) => ({ name: str(name) }) },
};

/**
 * Registrations: the guest keeps the functions (handlers, execute, renderers) and sends the host only their
 * plain-data description; the host calls back by name. Member → hostcall method.
 */
export const REGISTRATIONS = {
  on: 'pi.on',
  registerTool: 'pi.registerTool',
  registerCommand: 'pi.registerCommand',
  registerShortcut: 'pi.registerShortcut',
  registerFlag: 'pi.registerFlag',
  registerMessageRenderer: 'pi.registerMessageRenderer',
  registerEntryRenderer: 'pi.registerEntryRenderer',
  registerToolRenderer: 'pi.registerToolRenderer',
  registerMarkdownTransformer: 'pi.registerMarkdownTransformer',
  registerProvider: 'pi.registerProvider',
  registerMcpServer: 'pi.registerMcpServer',
  registerVirtualModel: 'pi.registerVirtualModel',
} as const;
export type RegistrationMember = keyof typeof REGISTRATIONS;

/** What the unsubscribe function `pi.on` returns calls (fire-and-forget): the host drops that handler's proxy. */
export const UNREGISTRATIONS = {
  on: 'pi.off',
} as const;

/**
 * The function members of a pi 1.5.2+ native `Provider` (`@earendil-works/pi-ai` `Provider`): they stay in the guest,
 * and a registration names those a provider has, own or inherited, so the host knows what it would have to proxy.
 */
export const NATIVE_PROVIDER_FUNCTIONS: readonly string[] = [
  'getModels',
  'getAllModels',
  'refreshModels',
  'filterModels',
  'filterAllModels',
  'stream',
  'streamSimple',
  'fetchDeferred',
  'cancelDeferred',
  'generateImages',
  'classify',
];

/** `ctx.ui.*`: member → mode. Params are `{args: [...]}`; functions (component factories) arrive as null. */
export const UI_MEMBERS: Readonly<Record<string, CallMode>> = {
  select: 'async',
  confirm: 'async',
  input: 'async',
  editor: 'async',
  custom: 'async',
  notify: 'fire',
  setStatus: 'fire',
  setWidget: 'fire',
  setTitle: 'fire',
  setWorkingMessage: 'fire',
  setWorkingVisible: 'fire',
  setWorkingIndicator: 'fire',
  setHiddenThinkingLabel: 'fire',
  setFooter: 'fire',
  setHeader: 'fire',
  setEditorComponent: 'fire',
  getEditorComponent: 'sync',
  addAutocompleteProvider: 'fire',
  setEditorText: 'fire',
  getEditorText: 'sync',
  pasteToEditor: 'fire',
  onTerminalInput: 'fire',
  getAllThemes: 'sync',
  getTheme: 'sync',
  setTheme: 'sync',
  getToolsExpanded: 'sync',
  setToolsExpanded: 'fire',
};

export const SESSION_MANAGER_MEMBERS: readonly string[] = [
  'getCwd',
  'getSessionDir',
  'getSessionId',
  'getSessionFile',
  'getLeafId',
  'getLeafEntry',
  'getEntry',
  'getLabel',
  'getBranch',
  // pi 1.5.2+
  'buildContextEntries',
  'buildSessionProjection',
  'getHeader',
  'getEntries',
  'getTree',
  'getSessionName',
];

/** `ctx.modelRegistry.*`: member → [hostcall method, mode]. `getApiKey` is the pre-0.63 name. */
export const MODEL_REGISTRY_MEMBERS: Readonly<Record<string, readonly [string, CallMode]>> = {
  getApiKey: ['ctx.modelRegistry.getApiKey', 'async'],
  getApiKeyAndHeaders: ['ctx.modelRegistry.getApiKeyAndHeaders', 'async'],
  getApiKeyForProvider: ['ctx.modelRegistry.getApiKeyForProvider', 'async'],
  refresh: ['ctx.modelRegistry.refresh', 'fire'],
  getError: ['ctx.modelRegistry.getError', 'sync'],
  getAll: ['ctx.modelRegistry.getAll', 'sync'],
  getAvailable: ['ctx.modelRegistry.getAvailable', 'sync'],
  find: ['ctx.modelRegistry.find', 'sync'],
  hasConfiguredAuth: ['ctx.modelRegistry.hasConfiguredAuth', 'sync'],
  getProviderAuthStatus: ['ctx.modelRegistry.getProviderAuthStatus', 'sync'],
  getProviderDisplayName: ['ctx.modelRegistry.getProviderDisplayName', 'sync'],
  isUsingOAuth: ['ctx.modelRegistry.isUsingOAuth', 'sync'],
  registerProvider: ['ctx.modelRegistry.registerProvider', 'fire'],
  unregisterProvider: ['ctx.modelRegistry.unregisterProvider', 'fire'],
};

/** `ctx.*` actions: member → [hostcall method, mode]. `hasQueuedMessages` is the pre-0.51 name. */
export const CONTEXT_MEMBERS: Readonly<Record<string, readonly [string, CallMode]>> = {
  isIdle: ['ctx.isIdle', 'sync'],
  abort: ['ctx.abort', 'fire'],
  hasPendingMessages: ['ctx.hasPendingMessages', 'sync'],
  hasQueuedMessages: ['ctx.hasPendingMessages', 'sync'],
  shutdown: ['ctx.shutdown', 'fire'],
  getContextUsage: ['ctx.getContextUsage', 'sync'],
  compact: ['ctx.compact', 'fire'],
  getSystemPrompt: ['ctx.getSystemPrompt', 'sync'],
};

/** Only on the context a command handler receives (ExtensionCommandContext). */
export const COMMAND_CONTEXT_MEMBERS: Readonly<Record<string, readonly [string, CallMode]>> = {
  waitForIdle: ['ctx.waitForIdle', 'async'],
  newSession: ['ctx.newSession', 'async'],
  fork: ['ctx.fork', 'async'],
  navigateTree: ['ctx.navigateTree', 'async'],
  switchSession: ['ctx.switchSession', 'async'],
  reload: ['ctx.reload', 'async'],
  getSystemPromptOptions: ['ctx.getSystemPromptOptions', 'sync'],
};

/** Event names of pi 0.73.1, 1.5.2 and 1.6.0 (which adds none). An unknown name is accepted (as pi does) and never fires. */
export const PI_EVENTS: readonly string[] = [
  'resources_discover',
  'session_start',
  'session_before_switch',
  'session_before_fork',
  'session_before_compact',
  'session_compact',
  'session_before_tree',
  'session_tree',
  'session_shutdown',
  'context',
  'before_provider_request',
  'after_provider_response',
  'before_agent_start',
  'agent_start',
  'agent_end',
  'turn_start',
  'turn_end',
  'message_start',
  'message_update',
  'message_end',
  'tool_execution_start',
  'tool_execution_update',
  'tool_execution_end',
  'model_select',
  'thinking_level_select',
  'tool_call',
  'tool_result',
  'user_bash',
  'input',
  // 1.5.2
  'project_trust',
  'session_info_changed',
  'session_compact_failed',
  'mcp_servers_change',
  'context_with_system',
  'cache_warming_decision',
  'before_provider_headers',
  'provider_stream_event',
  'agent_before_settle',
  'agent_settled',
  'ui_prompt_start',
  'ui_prompt_end',
];

/** Removed in pi 0.65; fired by the sandbox from `session_start.reason` so old extensions keep their hooks. */
export const LEGACY_EVENTS: Readonly<Record<string, { readonly from: 'session_start'; readonly reasons: readonly string[] }>> = {
  session_switch: { from: 'session_start', reasons: ['new', 'resume'] },
  session_fork: { from: 'session_start', reasons: ['fork'] },
};

/** The legacy events to fire alongside one event, with their payloads (pi ≤ 0.64 shapes). */
export function legacyEventsFor(
  event: string,
  payload: Record<string, unknown>,
): Array<{ event: string; payload: Record<string, unknown> }> {
  const out: Array<{ event: string; payload: Record<string, unknown> }> = [];
  for (const [name, rule] of Object.entries(LEGACY_EVENTS)) {
    if (rule.from !== event || !rule.reasons.includes(String(payload.reason))) continue;
    const legacy: Record<string, unknown> = { type: name, previousSessionFile: payload.previousSessionFile };
    if (name === 'session_switch') legacy.reason = payload.reason;
    out.push({ event: name, payload: legacy });
  }
  return out;
}

/** Host packages served as virtual modules (research digest §2); the npm scope alias goes both ways. */
export const HOST_PACKAGES: readonly string[] = [
  '@earendil-works/pi-coding-agent',
  '@mariozechner/pi-coding-agent',
  '@earendil-works/pi-ai',
  '@mariozechner/pi-ai',
  '@earendil-works/pi-ai/oauth',
  '@mariozechner/pi-ai/oauth',
  '@earendil-works/pi-tui',
  '@mariozechner/pi-tui',
  '@earendil-works/pi-agent-core',
  '@mariozechner/pi-agent-core',
  'typebox',
  'typebox/compile',
  'typebox/value',
  '@sinclair/typebox',
  '@sinclair/typebox/compiler',
  '@sinclair/typebox/value',
];

/** Node built-ins the sandbox provides (each effect a hostcall) and those that only fail with `denied`. */
export const NODE_MODULES: readonly string[] = [
  'fs',
  'fs/promises',
  'path',
  'path/posix',
  'os',
  'child_process',
  'process',
  'url',
  'util',
  'util/types',
  'events',
  'buffer',
  'crypto',
  'timers',
  'timers/promises',
  'stream',
  'stream/promises',
  'readline',
  'readline/promises',
  'http',
  'https',
  'net',
  'string_decoder',
  'assert',
  'assert/strict',
  'module',
  'querystring',
  'tty',
  'perf_hooks',
];
export const DENIED_NODE_MODULES: readonly string[] = [
  'vm',
  'worker_threads',
  'inspector',
  'cluster',
  'dgram',
  'dns',
  'tls',
  'http2',
  'v8',
  'sqlite',
  'repl',
  'async_hooks',
  'diagnostics_channel',
  'wasi',
  'trace_events',
  'zlib',
];
