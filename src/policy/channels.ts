/**
 * Every way extension data leaves the sandbox (SPEC §5.2): for each hostcall method of METHOD_TABLE, the params it
 * sends out and where they arrive, or why it carries no extension data out. The outbound secret scan reads exactly
 * these paths, so a channel missing here is a channel not scanned; a conformance test walks METHOD_TABLE against
 * this table, and a new hostcall without an entry fails it.
 *
 * Where a channel arrives:
 * - model: the model provider's request (tool definitions, tool results and errors, messages);
 * - session: pi's session file (messages, custom entries, labels, the session name);
 * - terminal: what pi shows the user (notifications, status, title, widgets, dialogs, command lists);
 * - host: pi's process, other extensions (the event bus) and pi-warden's own records;
 * - network: a remote server;
 * - child: a child process (argv, stdin, environment);
 * - file: the filesystem (contents and names).
 */

export const CHANNEL_SINKS = ['model', 'session', 'terminal', 'host', 'network', 'child', 'file'] as const;
export type ChannelSink = (typeof CHANNEL_SINKS)[number];

/**
 * A params path: `.`-separated property names; `*` is every element of an array or value of an object, `$keys` the
 * property names of an object, and `$` alone the whole params.
 */
export interface ChannelOut {
  readonly path: string;
  readonly to: readonly ChannelSink[];
  /** `base64`: the string is base64 of the bytes sent; `{ byParam }`: only when that param says `base64`. */
  readonly decode?: 'base64' | { readonly byParam: string };
  /** Property names on this path are case-insensitive (HTTP headers): reported lower-cased. */
  readonly caseless?: boolean;
}

export type Channel = { readonly sends: readonly ChannelOut[] } | { readonly none: string };

const out = (path: string, ...to: ChannelSink[]): ChannelOut => ({ path, to });
const sends = (...o: ChannelOut[]): Channel => ({ sends: o });
const none = (why: string): Channel => ({ none: why });

const READ = 'a read: the params only select what pi or the host answers; nothing is stored or shown';
const LOOKUP = 'the params are a name or id pi looks up; nothing is stored or shown';

/** ctx.ui members that show text to the user (arguments: titles, messages, options, lines, editor text). */
const UI_SHOWN = [
  'select',
  'confirm',
  'input',
  'editor',
  'custom',
  'notify',
  'setStatus',
  'setWidget',
  'setTitle',
  'setWorkingMessage',
  'setWorkingVisible',
  'setWorkingIndicator',
  'setHiddenThinkingLabel',
  'setFooter',
  'setHeader',
  'setEditorComponent',
  'addAutocompleteProvider',
  'setEditorText',
  'pasteToEditor',
  'onTerminalInput',
  'setTheme',
  'setToolsExpanded',
] as const;
const UI_READS = ['getEditorComponent', 'getEditorText', 'getAllThemes', 'getTheme', 'getToolsExpanded'] as const;

const SESSION_MANAGER_READS = [
  'getCwd',
  'getSessionDir',
  'getSessionId',
  'getSessionFile',
  'getLeafId',
  'getLeafEntry',
  'getEntry',
  'getLabel',
  'getBranch',
  'buildContextEntries',
  'buildSessionProjection',
  'getHeader',
  'getEntries',
  'getTree',
  'getSessionName',
] as const;

const MODEL_REGISTRY_READS = [
  'getApiKey',
  'getApiKeyAndHeaders',
  'getApiKeyForProvider',
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

/** ctx actions whose options carry text (compaction instructions, a new session's setup, a fork or branch summary). */
const CONTEXT_WITH_DATA = ['compact', 'newSession', 'fork', 'navigateTree', 'switchSession'] as const;
const CONTEXT_WITHOUT_DATA = [
  'isIdle',
  'abort',
  'hasPendingMessages',
  'shutdown',
  'getContextUsage',
  'getSystemPrompt',
  'getSystemPromptOptions',
  'waitForIdle',
  'reload',
] as const;

const TOOL_RUN: ChannelSink[] = ['child', 'file', 'host', 'session', 'model'];
const REGISTERED: ChannelSink[] = ['host', 'terminal'];

const TABLE: ReadonlyArray<readonly [string, Channel]> = [
  ['tool', sends(out('name', ...TOOL_RUN), out('input', ...TOOL_RUN))],
  ['exec', sends(out('cmd', 'child'), out('args.*', 'child'), out('cwd', 'child'), out('stdin', 'child'), out('env.*', 'child'))],
  ['exec.spawn', sends(out('cmd', 'child'), out('args.*', 'child'), out('cwd', 'child'), out('env.*', 'child'))],
  ['exec.read', none('a handle this extension was given; the output that comes back is scanned for held secrets')],
  ['exec.write', sends(out('data', 'child'))],
  ['exec.kill', none('a handle this extension was given and a signal name of a fixed pattern')],
  // A local server is a process the extension started (the owner check) or one its grant names: the child sink.
  ['net.connect', sends(out('path', 'child'), out('host', 'child'))],
  ['net.read', none('a handle this extension was given; what comes back is scanned for held secrets')],
  ['net.write', sends({ path: 'data', to: ['child'], decode: { byParam: 'encoding' } })],
  ['net.close', none('a handle this extension was given')],
  [
    'http',
    sends(
      out('url', 'network'),
      { path: 'headers.*', to: ['network'], caseless: true },
      { path: 'headers.$keys', to: ['network'], caseless: true },
      out('body', 'network'),
      { path: 'bodyBase64', to: ['network'], decode: 'base64' },
    ),
  ],
  ['fs.read', none(READ)],
  ['fs.list', none(READ)],
  ['fs.stat', none(READ)],
  ['fs.exists', none(READ)],
  ['fs.realpath', none(READ)],
  ['fs.write', sends(out('path', 'file'), { path: 'data', to: ['file'], decode: { byParam: 'encoding' } })],
  // A name the extension creates is data on disk that other programs list.
  ['fs.mkdir', sends(out('path', 'file'))],
  ['fs.mkdtemp', sends(out('prefix', 'file'))],
  ['fs.delete', none('removes what exists; writes no name or content')],
  ['fs.rename', sends(out('to', 'file'))],
  ['fs.copy', sends(out('to', 'file'))],
  ['fs.symlink', sends(out('target', 'file'), out('path', 'file'))],
  ['fs.chmod', none('a mode number on a path that exists')],
  ['env.get', none('a read: the name is checked by the secret broker’s name filter, the value comes back in')],
  ['env.list', none('a read without params')],
  ['log', sends(out('message', 'host'), out('data', 'host'))],
  // A changed tool input is a tool call pi runs, records and shows the model.
  ['tool.input', sends(out('name', ...TOOL_RUN), out('input', ...TOOL_RUN))],
  // Tool output and errors go to the model; handler results to pi (prompts, messages, patches).
  ['pi.result', sends(out('value', 'model', 'session', 'terminal', 'host'))],
  ['pi.on', none('an event name and a handler id pi calls the extension by')],
  ['pi.off', none('an event name and a handler id to drop')],
  // Tool definitions (name, description, parameter schema, prompt snippets) are sent to the model.
  ['pi.registerTool', sends(out('$', 'model', ...REGISTERED))],
  ['pi.registerCommand', sends(out('$', ...REGISTERED))],
  ['pi.registerShortcut', sends(out('$', ...REGISTERED))],
  ['pi.registerFlag', sends(out('$', ...REGISTERED))],
  ['pi.getFlag', none(LOOKUP)],
  ['pi.registerMessageRenderer', sends(out('$', ...REGISTERED))],
  ['pi.registerEntryRenderer', sends(out('$', ...REGISTERED))],
  ['pi.registerToolRenderer', sends(out('$', ...REGISTERED))],
  ['pi.registerMarkdownTransformer', sends(out('$', ...REGISTERED))],
  ['pi.events.emit', sends(out('channel', 'host'), out('data', 'host'))],
  ['pi.events.on', sends(out('channel', 'host'))],
  // A provider's base URL, headers and key: the conversation and the key go wherever it points.
  ['pi.registerProvider', sends(out('$', 'network', 'host'))],
  ['pi.unregisterProvider', none(LOOKUP)],
  ['pi.registerVirtualModel', sends(out('$', 'model', 'host'))],
  ['pi.unregisterVirtualModel', none(LOOKUP)],
  ['pi.registerMcpServer', sends(out('$', 'child', 'network', 'host'))],
  ['pi.unregisterMcpServer', none(LOOKUP)],
  ['pi.getMcpServers', none(READ)],
  ['pi.getSettings', none(READ)],
  ['pi.sendMessage', sends(out('$', 'model', 'session', 'terminal'))],
  ['pi.sendUserMessage', sends(out('$', 'model', 'session', 'terminal'))],
  ['pi.appendEntry', sends(out('$', 'session'))],
  // pi shows the session name in the terminal title.
  ['pi.setSessionName', sends(out('name', 'session', 'terminal'))],
  ['pi.getSessionName', none(READ)],
  ['pi.setLabel', sends(out('entryId', 'session'), out('label', 'session', 'terminal'))],
  ['pi.getActiveTools', none(READ)],
  ['pi.getAllTools', none(READ)],
  ['pi.setActiveTools', sends(out('names.*', 'session', 'host'))],
  ['pi.getCommands', none(READ)],
  ['pi.setModel', sends(out('provider', 'session', 'host'), out('id', 'session', 'host'))],
  ['pi.getThinkingLevel', none(READ)],
  ['pi.setThinkingLevel', sends(out('level', 'session', 'host'))],
  ...UI_SHOWN.map((m): readonly [string, Channel] => [`ctx.ui.${m}`, sends(out('args', 'terminal'))]),
  ...UI_READS.map((m): readonly [string, Channel] => [`ctx.ui.${m}`, none(READ)]),
  ...SESSION_MANAGER_READS.map((m): readonly [string, Channel] => [`ctx.sessionManager.${m}`, none(READ)]),
  ...MODEL_REGISTRY_READS.map((m): readonly [string, Channel] => [`ctx.modelRegistry.${m}`, none(READ)]),
  ['ctx.modelRegistry.registerProvider', sends(out('$', 'network', 'host'))],
  ['ctx.modelRegistry.unregisterProvider', none(LOOKUP)],
  ...CONTEXT_WITH_DATA.map((m): readonly [string, Channel] => [`ctx.${m}`, sends(out('args', 'model', 'session'))]),
  ...CONTEXT_WITHOUT_DATA.map((m): readonly [string, Channel] => [`ctx.${m}`, none('an action or read without extension data')]),
];

export const CHANNEL_TABLE: ReadonlyMap<string, Channel> = new Map(TABLE);

/** Methods listed twice (the table must say one thing per method); a test keeps this empty. */
export function duplicateChannels(): string[] {
  const seen = new Set<string>();
  return TABLE.map(([m]) => m).filter((m) => seen.has(m) || !seen.add(m));
}

/** One string a call sends: its label (`<method>.<path>`), where it arrives, and the text. */
export interface SentString {
  readonly label: string;
  readonly to: readonly ChannelSink[];
  readonly text: string;
}

/**
 * The strings a call sends out, by the table. A method with no entry yields the whole params (fail closed: an
 * unlisted method is scanned as if everything it carries left).
 */
export function sentStrings(method: string, params: Readonly<Record<string, unknown>>): SentString[] {
  const channel = CHANNEL_TABLE.get(method) ?? sends(out('$', 'host'));
  if ('none' in channel) return [];
  const found: SentString[] = [];
  for (const o of channel.sends) {
    const base64 = o.decode === 'base64' || (typeof o.decode === 'object' && params[o.decode.byParam] === 'base64');
    const add = (label: string, v: unknown) => {
      if (v === undefined || v === null) return;
      let text = typeof v === 'string' ? v : JSON.stringify(v);
      if (text === undefined) return;
      if (base64) text = Buffer.from(text, 'base64').toString('latin1');
      found.push({ label, to: o.to, text });
    };
    if (o.path === '$') {
      add(`${method}.params`, params);
      continue;
    }
    walk(params, o.path.split('.'), method, o.caseless === true, add);
  }
  return found;
}

function walk(value: unknown, rest: readonly string[], label: string, caseless: boolean, add: (label: string, v: unknown) => void): void {
  const [head, ...tail] = rest;
  if (head === undefined) {
    add(label, value);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const key = (k: string) => (caseless ? k.toLowerCase() : k);
  if (head === '$keys') {
    for (const k of Object.keys(value)) add(`${label}.names`, k);
    return;
  }
  if (head === '*') {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, tail, `${label}[${i}]`, caseless, add));
    else for (const [k, v] of Object.entries(value)) walk(v, tail, `${label}.${key(k)}`, caseless, add);
    return;
  }
  if (Object.hasOwn(value, head)) walk((value as Record<string, unknown>)[head], tail, `${label}.${head}`, caseless, add);
}

/**
 * The params with every string on a path that arrives at `sink` passed through `fn` (deeply: the strings inside
 * an object or array on that path too); everything else is kept as it is. Unlisted methods are returned unchanged.
 */
export function mapSent(
  method: string,
  params: Readonly<Record<string, unknown>>,
  sink: ChannelSink,
  fn: (text: string) => string,
): Readonly<Record<string, unknown>> {
  const channel = CHANNEL_TABLE.get(method);
  if (channel === undefined || 'none' in channel) return params;
  let result: unknown = params;
  for (const o of channel.sends) {
    if (!o.to.includes(sink)) continue;
    result = o.path === '$' ? deepMap(result, fn) : mapAt(result, o.path.split('.'), fn);
  }
  return result as Readonly<Record<string, unknown>>;
}

/** Copy on write: a value in which `fn` changes nothing is returned as it is (the caller can tell by identity). */
function deepMap(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value))
    return sameOr(
      value,
      value.map((v) => deepMap(v, fn)),
    );
  if (value !== null && typeof value === 'object') return entriesOr(value, ([k, v]) => [fn(k), deepMap(v, fn)]);
  return value;
}

function mapAt(value: unknown, path: readonly string[], fn: (text: string) => string): unknown {
  const [head, ...tail] = path;
  if (head === undefined) return deepMap(value, fn);
  if (value === null || typeof value !== 'object') return value;
  if (head === '$keys') return entriesOr(value, ([k, v]) => [fn(k), v]);
  if (head === '*')
    return Array.isArray(value)
      ? sameOr(
          value,
          value.map((v) => mapAt(v, tail, fn)),
        )
      : entriesOr(value, ([k, v]) => [k, mapAt(v, tail, fn)]);
  if (!Object.hasOwn(value, head)) return value;
  const before = (value as Record<string, unknown>)[head];
  const after = mapAt(before, tail, fn);
  return after === before ? value : { ...(value as Record<string, unknown>), [head]: after };
}

function sameOr(before: readonly unknown[], after: unknown[]): readonly unknown[] {
  return after.every((v, i) => v === before[i]) ? before : after;
}

function entriesOr(value: object, f: (e: [string, unknown]) => [string, unknown]): object {
  const before = Object.entries(value);
  const after = before.map(f);
  return after.every(([k, v], i) => k === before[i]?.[0] && v === before[i]?.[1]) ? value : Object.fromEntries(after);
}
