/**
 * The static hostcall method table (SPEC §4.1): every method pi-warden mediates, the one capability it requires,
 * and the schema its params must satisfy. This table is data: dispatch derives capabilities from it and
 * `policy explain` prints it, so what is printed is what is enforced.
 *
 * Method names mirror pi's own (`pi.registerTool`, `ctx.ui.notify`, `ctx.modelRegistry.getApiKey`) so that an
 * extension author recognises them; the Node shims use short families (`fs.*`, `env.*`, `exec`, `http`).
 * Names are exact: `EXEC` or `Exec` is an unknown method, not an alias.
 */
import Type, { type TSchema } from 'typebox';
import type { Capability } from './capabilities.ts';

/** `tool` derives its capability from the tool name: the built-in file and shell tools need read/write/exec. */
export type RequiredCapability = Capability | 'by_tool_name';

export type MethodFamily = 'tool' | 'exec' | 'http' | 'net' | 'fs' | 'env' | 'log' | 'pi' | 'ui' | 'session' | 'model' | 'agent';

export interface MethodSpec {
  readonly method: string;
  readonly capability: RequiredCapability;
  readonly family: MethodFamily;
  readonly summary: string;
  readonly params: TSchema;
}

const Str = Type.String({ minLength: 1 });
const Path = Type.String({ minLength: 1, maxLength: 4096 });
const AnyObject = Type.Object({});
const Open = <P extends Record<string, TSchema>>(props: P) => Type.Object(props);
const Closed = <P extends Record<string, TSchema>>(props: P) => Type.Object(props, { additionalProperties: false });
const Empty = Closed({});
const Opt = Type.Optional;
const StringMap = Type.Record(Type.String(), Type.String());
const NonNegInt = Type.Integer({ minimum: 0 });
const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')]);

function spec(
  method: string,
  capability: RequiredCapability,
  family: MethodFamily,
  summary: string,
  params: TSchema = AnyObject,
): MethodSpec {
  return { method, capability, family, summary, params };
}

const UI_MEMBERS: ReadonlyArray<readonly [string, string]> = [
  ['select', 'ask the user to pick one option'],
  ['confirm', 'ask the user a yes/no question'],
  ['input', 'ask the user for a line of text'],
  ['editor', 'open a multi-line editor for the user'],
  ['custom', 'show a custom interactive component with keyboard focus'],
  ['notify', 'show a notification'],
  ['setStatus', 'set a status-line entry'],
  ['setWidget', 'show or clear a widget'],
  ['setTitle', 'set the terminal title'],
  ['setWorkingMessage', 'set the working message'],
  ['setWorkingVisible', 'show or hide the working indicator'],
  ['setWorkingIndicator', 'configure the working indicator'],
  ['setHiddenThinkingLabel', 'set the hidden-thinking label'],
  ['setFooter', 'replace the footer'],
  ['setHeader', 'replace the header'],
  ['setEditorComponent', 'replace the editor component'],
  ['getEditorComponent', 'read the editor component'],
  ['addAutocompleteProvider', 'add an autocomplete provider'],
  ['setEditorText', 'replace the editor text'],
  ['getEditorText', 'read the editor text'],
  ['pasteToEditor', 'paste into the editor'],
  ['onTerminalInput', 'tap raw terminal input (sees every key the user types)'],
  ['getAllThemes', 'list themes'],
  ['getTheme', 'read a theme'],
  ['setTheme', 'change the theme'],
  ['getToolsExpanded', 'read whether tool output is expanded'],
  ['setToolsExpanded', 'expand or collapse tool output'],
];

const SESSION_MANAGER_MEMBERS = [
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
] as const;

const MODEL_REGISTRY_READS = [
  'refresh',
  'getError',
  'getAll',
  'getAvailable',
  'find',
  'hasConfiguredAuth',
  'getProviderAuthStatus',
  'getProviderDisplayName',
  'isUsingOAuth',
] as const;

/** ExtensionContext / ExtensionCommandContext members that act on the agent or session. */
const CONTEXT_ACTIONS: ReadonlyArray<readonly [string, string]> = [
  ['isIdle', 'ask whether the agent is idle'],
  ['abort', 'abort the running turn'],
  ['hasPendingMessages', 'ask whether messages are queued'],
  ['shutdown', 'shut pi down'],
  ['getContextUsage', 'read context-window usage'],
  ['compact', 'compact the conversation'],
  ['getSystemPrompt', 'read the system prompt'],
  ['getSystemPromptOptions', 'read the system prompt options'],
  ['waitForIdle', 'wait until the agent is idle'],
  ['newSession', 'start a new session'],
  ['fork', 'fork the session at an entry'],
  ['navigateTree', 'move to another point of the session tree'],
  ['switchSession', 'switch to another session file'],
  ['reload', 'reload extensions and resources'],
];

const TABLE: readonly MethodSpec[] = [
  // Built-in and extension tools. The capability follows the tool name (see TOOL_NAME_CAPABILITY).
  spec(
    'tool',
    'by_tool_name',
    'tool',
    'invoke a tool by name (read/grep/find/ls → read, write/edit → write, bash → exec, others → tool)',
    Closed({ name: Str, input: Opt(AnyObject) }),
  ),

  // Processes.
  spec(
    'exec',
    'exec',
    'exec',
    'run a program to completion (pi.exec, child_process exec/execFile/spawnSync)',
    Closed({
      cmd: Str,
      args: Opt(Type.Array(Type.String())),
      cwd: Opt(Path),
      timeoutMs: Opt(NonNegInt),
      stdin: Opt(Type.String()),
      env: Opt(StringMap),
      shell: Opt(Type.Boolean()),
      maxBuffer: Opt(NonNegInt),
    }),
  ),
  spec(
    'exec.spawn',
    'exec',
    'exec',
    'start a program with streamed stdio (child_process.spawn)',
    Closed({
      cmd: Str,
      args: Opt(Type.Array(Type.String())),
      cwd: Opt(Path),
      env: Opt(StringMap),
      shell: Opt(Type.Boolean()),
      detached: Opt(Type.Boolean()),
      timeoutMs: Opt(NonNegInt),
    }),
  ),
  spec(
    'exec.read',
    'exec',
    'exec',
    'read what a process this extension started printed since the last read (its exit status once it ended)',
    Closed({ handle: Str }),
  ),
  spec(
    'exec.write',
    'exec',
    'exec',
    'write to the stdin of a process this extension started',
    Closed({ handle: Str, data: Type.String(), end: Opt(Type.Boolean()) }),
  ),
  spec(
    'exec.kill',
    'exec',
    'exec',
    'signal a process this extension started',
    Closed({ handle: Str, signal: Opt(Type.String({ pattern: '^SIG[A-Z0-9]+$' })) }),
  ),

  // Network.
  spec(
    'http',
    'http',
    'http',
    'make an HTTP request (fetch, node:http, node:https)',
    Closed({
      url: Type.String({ minLength: 1, maxLength: 65536 }),
      method: Opt(Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)))),
      headers: Opt(StringMap),
      body: Opt(Type.String()),
      bodyBase64: Opt(Type.String()),
      timeoutMs: Opt(NonNegInt),
      redirect: Opt(Type.Union([Type.Literal('follow'), Type.Literal('manual'), Type.Literal('error')])),
    }),
  ),

  // Sockets (node:net): a local server the extension started, named in its net grant (ADR 0038).
  spec(
    'net.connect',
    'net',
    'net',
    'connect to a Unix socket or a loopback TCP port (net.connect, net.createConnection, Socket.connect)',
    Closed({
      path: Opt(Path),
      host: Opt(Type.String({ minLength: 1, maxLength: 255 })),
      port: Opt(Type.Integer({ minimum: 1, maximum: 65535 })),
    }),
  ),
  spec(
    'net.read',
    'net',
    'net',
    'read what a socket this extension opened received since the last read (its end once it closed)',
    Closed({ handle: Str }),
  ),
  spec(
    'net.write',
    'net',
    'net',
    'send on a socket this extension opened (and end its side)',
    Closed({ handle: Str, data: Type.String(), encoding: Opt(Encoding), end: Opt(Type.Boolean()) }),
  ),
  spec('net.close', 'net', 'net', 'close a socket this extension opened', Closed({ handle: Str })),

  // Filesystem (node:fs and fs/promises shims).
  spec(
    'fs.read',
    'read',
    'fs',
    'read a file',
    Closed({ path: Path, encoding: Opt(Encoding), offset: Opt(NonNegInt), length: Opt(NonNegInt) }),
  ),
  spec('fs.list', 'read', 'fs', 'list a directory', Closed({ path: Path, withFileTypes: Opt(Type.Boolean()) })),
  spec('fs.stat', 'read', 'fs', 'stat a path', Closed({ path: Path, followSymlinks: Opt(Type.Boolean()) })),
  spec('fs.exists', 'read', 'fs', 'test whether a path exists', Closed({ path: Path })),
  spec('fs.realpath', 'read', 'fs', 'resolve a path through symlinks', Closed({ path: Path })),
  spec(
    'fs.write',
    'write',
    'fs',
    'write or append to a file',
    Closed({ path: Path, data: Type.String(), encoding: Opt(Encoding), append: Opt(Type.Boolean()), mode: Opt(NonNegInt) }),
  ),
  spec('fs.mkdir', 'write', 'fs', 'create a directory', Closed({ path: Path, recursive: Opt(Type.Boolean()), mode: Opt(NonNegInt) })),
  spec('fs.mkdtemp', 'write', 'fs', 'create a unique temporary directory', Closed({ prefix: Path })),
  spec(
    'fs.delete',
    'write',
    'fs',
    'delete a file or directory',
    Closed({ path: Path, recursive: Opt(Type.Boolean()), force: Opt(Type.Boolean()) }),
  ),
  spec('fs.rename', 'write', 'fs', 'rename or move a path', Closed({ from: Path, to: Path })),
  spec('fs.copy', 'write', 'fs', 'copy a file', Closed({ from: Path, to: Path })),
  spec('fs.symlink', 'write', 'fs', 'create a symbolic link', Closed({ target: Path, path: Path })),
  spec('fs.chmod', 'write', 'fs', 'change file permissions', Closed({ path: Path, mode: NonNegInt })),

  // Environment (process.env shim).
  spec('env.get', 'env', 'env', 'read one environment variable', Closed({ name: Type.String({ minLength: 1, maxLength: 1024 }) })),
  spec('env.list', 'env', 'env', 'enumerate environment variable names', Empty),

  // Logging.
  spec(
    'log',
    'log',
    'log',
    'write a log line',
    Closed({
      level: Type.Union(['debug', 'info', 'warn', 'error'].map((l) => Type.Literal(l))),
      message: Type.String({ maxLength: 65536 }),
      data: Opt(Type.Unknown()),
    }),
  ),

  // What a sandboxed extension hands back that pi acts on (the bridge makes these calls for it, SPEC §10): a
  // tool_call handler's change to the tool's input is the tool call it amounts to (capability by tool name, then
  // exec mediation or filesystem scope); any other result pi uses (tool output, tool_result patches, input
  // transforms, prompt and context changes) goes to the session and through the secret scan.
  spec(
    'tool.input',
    'by_tool_name',
    'tool',
    'change the input of a tool call pi is about to run (a tool_call handler)',
    Closed({ name: Str, input: Opt(AnyObject) }),
  ),
  spec(
    'pi.result',
    'session',
    'pi',
    'hand pi a value it acts on: tool output, or a handler result (tool_result patch, input transform, prompt change)',
    Closed({ kind: Type.Union(['tool', 'event', 'command'].map((k) => Type.Literal(k))), name: Str, value: Opt(Type.Unknown()) }),
  ),

  // ExtensionAPI (pi.*): registration and the event bus.
  spec('pi.on', 'events', 'pi', 'subscribe to a lifecycle event', Closed({ event: Str, handlerId: Opt(Type.Number()) })),
  spec('pi.off', 'events', 'pi', 'unsubscribe one lifecycle event handler', Closed({ event: Str, handlerId: Type.Number() })),
  spec(
    'pi.registerTool',
    'events',
    'pi',
    'register a tool for the model',
    Open({ name: Str, description: Opt(Type.String()), parameters: Opt(AnyObject) }),
  ),
  spec('pi.registerCommand', 'events', 'pi', 'register a slash command', Open({ name: Str, description: Opt(Type.String()) })),
  spec('pi.registerShortcut', 'events', 'pi', 'register a keyboard shortcut', Open({ key: Str, description: Opt(Type.String()) })),
  spec(
    'pi.registerFlag',
    'events',
    'pi',
    'register a CLI flag',
    Open({ name: Str, type: Type.Union([Type.Literal('boolean'), Type.Literal('string')]), description: Opt(Type.String()) }),
  ),
  spec('pi.getFlag', 'events', 'pi', 'read a flag this extension registered', Closed({ name: Str })),
  spec('pi.registerMessageRenderer', 'events', 'pi', 'render a custom message type', Closed({ customType: Str, fn: Opt(NonNegInt) })),
  spec('pi.registerEntryRenderer', 'events', 'pi', 'render a custom entry type (pi 1.5)', Open({ customType: Str })),
  spec(
    'pi.registerToolRenderer',
    'events',
    'pi',
    'render a tool call/result: one tool by name, or a resolver for every tool (pi 1.5.2+)',
    Open({ toolName: Opt(Str), resolver: Opt(Type.Boolean()) }),
  ),
  spec('pi.registerMarkdownTransformer', 'events', 'pi', 'transform rendered markdown (pi 1.5)', AnyObject),
  spec('pi.events.emit', 'events', 'pi', 'emit on the shared extension event bus', Closed({ channel: Str, data: Opt(Type.Unknown()) })),
  spec('pi.events.on', 'events', 'pi', 'listen on the shared extension event bus', Closed({ channel: Str })),
  spec(
    'pi.registerProvider',
    'env',
    'pi',
    'register or re-point a model provider: it receives the API key and the conversation',
    Open({ name: Str }),
  ),
  spec('pi.unregisterProvider', 'session', 'pi', 'remove a model provider', Closed({ name: Str })),
  spec('pi.registerVirtualModel', 'session', 'pi', 'register a virtual model (pi 1.5)', AnyObject),
  spec('pi.unregisterVirtualModel', 'session', 'pi', 'remove a virtual model (pi 1.5)', AnyObject),
  spec('pi.registerMcpServer', 'exec', 'pi', 'register an MCP server (pi 1.5; starts server processes)', Open({ name: Str })),
  spec('pi.unregisterMcpServer', 'session', 'pi', 'remove an MCP server (pi 1.5)', Closed({ name: Str })),
  spec('pi.getMcpServers', 'session', 'pi', 'list MCP servers (pi 1.5)', Empty),
  spec('pi.getSettings', 'session', 'pi', 'read pi settings (pi 1.5)', Empty),
  spec(
    'pi.sendMessage',
    'session',
    'pi',
    'add a custom message to the conversation',
    Open({ customType: Str, deliverAs: Opt(Type.Union(['steer', 'followUp', 'nextTurn'].map((d) => Type.Literal(d)))) }),
  ),
  spec('pi.sendUserMessage', 'session', 'pi', 'send a user message (starts a turn)', Open({ content: Type.Unknown() })),
  spec('pi.appendEntry', 'session', 'pi', 'persist a custom entry in the session', Open({ customType: Str })),
  spec('pi.setSessionName', 'session', 'pi', 'name the session', Closed({ name: Type.String() })),
  spec('pi.getSessionName', 'session', 'pi', 'read the session name', Empty),
  spec('pi.setLabel', 'session', 'pi', 'label a session entry', Closed({ entryId: Str, label: Opt(Type.String()) })),
  spec('pi.getActiveTools', 'session', 'pi', 'list the active tools', Empty),
  spec('pi.getAllTools', 'session', 'pi', 'list all tools', Empty),
  spec('pi.setActiveTools', 'session', 'pi', 'change which tools the model can call', Closed({ names: Type.Array(Type.String()) })),
  spec('pi.getCommands', 'session', 'pi', 'list slash commands', Empty),
  spec('pi.setModel', 'session', 'pi', 'change the model', Open({ provider: Opt(Type.String()), id: Opt(Type.String()) })),
  spec('pi.getThinkingLevel', 'session', 'pi', 'read the thinking level', Empty),
  spec('pi.setThinkingLevel', 'session', 'pi', 'change the thinking level', Closed({ level: Str })),

  // ctx.ui.*
  ...UI_MEMBERS.map(([m, summary]) => spec(`ctx.ui.${m}`, 'ui', 'ui', summary)),

  // ctx.sessionManager.* (read-only session view)
  ...SESSION_MANAGER_MEMBERS.map((m) => spec(`ctx.sessionManager.${m}`, 'session', 'session', `session manager: ${m}`)),

  // ctx.modelRegistry.*: the credential-returning calls need env (they hand out provider keys).
  spec('ctx.modelRegistry.getApiKey', 'env', 'model', 'read a provider API key (legacy pi ≤ 0.62 name)', AnyObject),
  spec('ctx.modelRegistry.getApiKeyAndHeaders', 'env', 'model', 'read a provider API key and auth headers', AnyObject),
  spec('ctx.modelRegistry.getApiKeyForProvider', 'env', 'model', 'read the API key or OAuth token of a provider', AnyObject),
  ...MODEL_REGISTRY_READS.map((m) => spec(`ctx.modelRegistry.${m}`, 'session', 'model', `model registry: ${m}`)),
  spec(
    'ctx.modelRegistry.registerProvider',
    'env',
    'model',
    'register or re-point a provider through the registry (receives credentials)',
    Open({ name: Str }),
  ),
  spec('ctx.modelRegistry.unregisterProvider', 'session', 'model', 'remove a provider through the registry', Closed({ name: Str })),

  // ctx.* actions
  ...CONTEXT_ACTIONS.map(([m, summary]) => spec(`ctx.${m}`, 'session', 'agent', summary)),
];

/** Built-in pi tools whose capability is not `tool` (the reference's table, folded as its opcode path folds). */
export const TOOL_NAME_CAPABILITY: ReadonlyMap<string, Capability> = new Map<string, Capability>([
  ['read', 'read'],
  ['grep', 'read'],
  ['find', 'read'],
  ['ls', 'read'],
  ['write', 'write'],
  ['edit', 'write'],
  ['bash', 'exec'],
]);

/**
 * Tool names are folded (case and every non-alphanumeric dropped) before the lookup, so `Bash`, `ba.sh` and
 * `BASH ` all need `exec`: a spelling can only make a tool call need more, never less.
 */
export function toolNameCapability(name: string): Capability {
  let folded = '';
  for (let i = 0; i < name.length && folded.length <= 8; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) folded += String.fromCharCode(c + 32);
    else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) folded += name[i];
  }
  return TOOL_NAME_CAPABILITY.get(folded) ?? 'tool';
}

/**
 * Calls the bridge makes for every sandboxed extension, paced by pi rather than by the extension: `pi.result` hands pi
 * each value a tool or handler returns. No scan of the extension's source shows them (no scanner_bypass) and their
 * rate is pi's event rate (no hostcall rate quota). `tool.input` is not one: a rewritten input is the extension's choice.
 */
export const PACED_BY_PI: ReadonlySet<string> = new Set(['pi.result']);

export const METHOD_TABLE: ReadonlyMap<string, MethodSpec> = new Map(TABLE.map((s) => [s.method, s]));

export function listMethods(): readonly MethodSpec[] {
  return TABLE;
}
