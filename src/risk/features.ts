/**
 * What the risk controller sees of one call (SPEC §7.1): signals from the capability, the method and the
 * arguments, computed before the params are dropped. Each signal has a code and a weight; the score is their
 * clamped sum plus the sequence signals (sequence.ts). Every contributing signal is kept for the explanation.
 */
import { CAPABILITIES, type Capability, classifyHost, type PlaceKind, PlaceWords, urlHost, type UrlHost } from '../policy/index.ts';

/** The signals of one call; `capability_<capability>` is the base weight of the capability it needs. */
export const CALL_SIGNALS = [
  'destructive_delete',
  'disk_destruction',
  'destructive_git',
  'pipe_to_shell',
  'reverse_shell',
  'privilege_escalation',
  'credential_harvest',
  'network_tool',
  'inline_code',
  'spawn_agent_or_daemon',
  'read_only_command',
  'shell_string',
  'sensitive_path_write',
  'sensitive_path_read',
  'path_traversal',
  'unparsable_url',
  'metadata_endpoint',
  'private_network_target',
  'non_allowlisted_host',
  'plaintext_http',
  'long_query_string',
  'secret_env_read',
  'plain_env_read',
  'env_enumeration',
  'credential_read',
  'provider_redirect',
] as const;
export type CallSignal = (typeof CALL_SIGNALS)[number] | `capability_${Capability}`;

export function isCallSignal(code: string): code is CallSignal {
  return (
    (CALL_SIGNALS as readonly string[]).includes(code) ||
    (code.startsWith('capability_') && (CAPABILITIES as readonly string[]).includes(code.slice('capability_'.length)))
  );
}

export interface Signal<C extends string = CallSignal> {
  readonly code: C;
  readonly weight: number;
}

const CAPABILITY_WEIGHT: Readonly<Record<Capability, number>> = {
  exec: 0.3,
  env: 0.25,
  http: 0.12,
  write: 0.08,
  tool: 0.06,
  session: 0.03,
  events: 0.01,
  ui: 0.02,
  read: 0.02,
  log: 0,
  // A socket to a local server the extension started: a channel out like exec's child, narrower (named targets only).
  net: 0.12,
};

/** Destructive or remote-code patterns in a command line (lower-cased, whitespace collapsed). */
const DESTRUCTIVE: ReadonlyArray<readonly [RegExp, CallSignal]> = [
  [/\brm\s+(-[a-z]*r[a-z]*f|-[a-z]*f[a-z]*r|--recursive\s+--force|--force\s+--recursive)\b/, 'destructive_delete'],
  [/\b(mkfs(\.\w+)?|wipefs|shred)\b|\bdd\b.*\bof=\/dev\//, 'disk_destruction'],
  [/\bgit\s+(reset\s+--hard|clean\s+-[a-z]*f|push\s+(-f|--force))/, 'destructive_git'],
  [/\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z|da)?sh\b|\bbase64\s+(-d|--decode)\b[^|]*\|\s*(ba)?sh\b/, 'pipe_to_shell'],
  [/\b(nc|ncat|netcat)\b.*\s-e\s|\/dev\/tcp\/|\bsocat\b.*exec/, 'reverse_shell'],
  [/\bchmod\s+(-r\s+)?(777|a\+rwx|[ugo]*\+s)\b|\b(sudo|doas|su)\b/, 'privilege_escalation'],
  [
    /\b(printenv|env)\b\s*($|[|>;])|\/proc\/self\/environ|\bcat\b[^|;]*(\.ssh\/|\.aws\/|\.gnupg\/|\.netrc|auth\.json|\.env\b)/,
    'credential_harvest',
  ],
];
const NETWORK_TOOL = /(^|\s|\/)(curl|wget|nc|ncat|ssh|scp|rsync|ftp|telnet)(\s|$)/;
const READ_ONLY_COMMAND =
  /^(git\s+(status|log|diff|show|branch|rev-parse|describe|ls-files|remote\s+-v|stash\s+list)\b|ls\b|pwd$|which\b|echo\b|date$|uname\b)/;

/**
 * Weight of reading or writing a place of the sensitive-places table (src/policy/places.ts), per kind. Writing a
 * tool's own state folder (`.pi/todos.json`) is refused by fs like the others, but benign extensions try it: it
 * counts a little, where a startup file or a credential store decides the score.
 */
const PLACE_WEIGHT: Readonly<Record<PlaceKind, { readonly read: number; readonly write: number }>> = {
  credential: { read: 0.3, write: 0.7 },
  warden_private: { read: 0.3, write: 0.7 },
  runs_later: { read: 0, write: 0.7 },
  auto_run: { read: 0, write: 0.4 },
  tool_state: { read: 0, write: 0.15 },
  system: { read: 0, write: 0 },
};
/** Paths matched without knowing the user's folders: `~/`, `$HOME/` and dot-named places anywhere. */
const NO_ROOTS = new PlaceWords();

const SECRET_NAME =
  /(^|_)(API_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE_KEY|ACCESS_KEY(_ID)?|AUTH)(_|$)|^(AWS|GITHUB|GH|NPM|OPENAI|ANTHROPIC|GOOGLE|AZURE|SLACK|STRIPE)_/;

function normalise(command: string): string {
  return command
    .toLowerCase()
    .replace(/\$\{?ifs\}?/g, ' ')
    .replace(/["'\\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function commandSignals(command: string): Signal[] {
  const c = normalise(command);
  const out: Signal[] = [];
  for (const [re, code] of DESTRUCTIVE) if (re.test(c)) out.push({ code, weight: 0.5 });
  if (NETWORK_TOOL.test(c)) out.push({ code: 'network_tool', weight: 0.15 });
  if (/\b(ba|z|da)?sh\s+-c\b|\beval\b|\bpython3?\s+-c\b|\bnode\s+-e\b/.test(c)) out.push({ code: 'inline_code', weight: 0.12 });
  if (/(^|\s)(pi|nohup|setsid|disown)(\s|$)|&\s*$/.test(c)) out.push({ code: 'spawn_agent_or_daemon', weight: 0.12 });
  if (out.length === 0 && READ_ONLY_COMMAND.test(c)) out.push({ code: 'read_only_command', weight: -0.2 });
  return out;
}

export function pathSignals(path: string, writing: boolean, places: PlaceWords = NO_ROOTS): Signal[] {
  const p = path.replace(/\\/g, '/');
  // Writing a credential store, a shell startup file, a git hook or pi's settings is persistence or sabotage.
  const weight = Math.max(0, ...places.kindsOf(p).map((k) => PLACE_WEIGHT[k][writing ? 'write' : 'read']));
  if (weight > 0) return [{ code: writing ? 'sensitive_path_write' : 'sensitive_path_read', weight }];
  if (p.includes('../')) return [{ code: 'path_traversal', weight: 0.1 }];
  return [];
}

/**
 * Host classes: metadata and private addresses are high-signal targets for exfiltration and SSRF. Classes and
 * the allowlist are egress's own (`classifyHost`, `hostListMatcher`): what egress calls private, risk does too.
 */
export function hostSignals(url: string, allowlisted: (t: UrlHost) => boolean): Signal[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [{ code: 'unparsable_url', weight: 0.2 }];
  }
  const target = urlHost(u);
  const cls = classifyHost(target);
  const out: Signal[] = [];
  if (cls === 'metadata') out.push({ code: 'metadata_endpoint', weight: 0.5 });
  else if (cls !== undefined) out.push({ code: 'private_network_target', weight: 0.25 });
  else if (!allowlisted(target)) out.push({ code: 'non_allowlisted_host', weight: 0.1 });
  if (u.protocol !== 'https:') out.push({ code: 'plaintext_http', weight: 0.05 });
  if (u.search.length > 512) out.push({ code: 'long_query_string', weight: 0.15 });
  return out;
}

export function isSecretLookingName(name: string): boolean {
  return SECRET_NAME.test(name.toUpperCase());
}

/** Static part of the call's risk: capability, method and argument signals. */
export function callSignals(
  capability: Capability,
  method: string,
  params: Readonly<Record<string, unknown>>,
  allowlisted: (t: UrlHost) => boolean,
  places: PlaceWords = NO_ROOTS,
): Signal[] {
  const out: Signal[] = [];
  const base = CAPABILITY_WEIGHT[capability];
  if (base > 0) out.push({ code: `capability_${capability}`, weight: base });
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  if (method === 'exec' || method === 'exec.spawn') {
    const args = Array.isArray(params.args) ? (params.args as unknown[]).filter((a): a is string => typeof a === 'string') : [];
    out.push(...commandSignals([str(params.cmd) ?? '', ...args].join(' ')));
    if (params.shell === true) out.push({ code: 'shell_string', weight: 0.1 });
  } else if (method === 'tool') {
    const input = (params.input ?? {}) as Record<string, unknown>;
    const command = str(input.command);
    if (command !== undefined) out.push(...commandSignals(command));
    const path = str(input.path) ?? str(input.file_path) ?? str(input.file);
    if (path !== undefined) out.push(...pathSignals(path, capability === 'write', places));
  } else if (method.startsWith('fs.')) {
    for (const key of ['path', 'from', 'to', 'target']) {
      const p = str(params[key]);
      if (p !== undefined) out.push(...pathSignals(p, capability === 'write', places));
    }
  } else if (method === 'http') {
    out.push(...hostSignals(str(params.url) ?? '', allowlisted));
  } else if (method === 'env.get') {
    const name = str(params.name) ?? '';
    // Reading a secret the policy granted is an extension's job; what it does next (read_then_send) is the signal.
    out.push(isSecretLookingName(name) ? { code: 'secret_env_read', weight: 0.2 } : { code: 'plain_env_read', weight: 0.02 });
  } else if (method === 'env.list') {
    out.push({ code: 'env_enumeration', weight: 0.25 });
  } else if (method.startsWith('ctx.modelRegistry.getApiKey')) {
    out.push({ code: 'credential_read', weight: 0.2 });
  } else if (method === 'pi.registerProvider' || method === 'ctx.modelRegistry.registerProvider') {
    const base = str(params.baseUrl);
    out.push({ code: 'provider_redirect', weight: base === undefined ? 0.2 : 0.5 });
  }
  return out;
}
