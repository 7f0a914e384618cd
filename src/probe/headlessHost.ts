/**
 * A simulated pi session for `probe` and tests. It keeps what extensions register and answers their calls without
 * touching anything an untrusted extension should reach: file reads are real (policy-gated `read`), but writes
 * land in an in-memory overlay, programs are not run, the network is not used, and the environment is a planted
 * one with honeytoken secrets. Dialogs answer like a cooperative user (first option, yes, sample text).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync, existsSync, lstatSync } from 'node:fs';
import type { OperationContext } from '../dispatch/index.ts';
import { WardenError } from '../errors.ts';
import { forTerminal, statData, stripTerminalControls } from '../mediation/index.ts';
import type { ExtensionHost, Registration } from '../pi/index.ts';
import { newDisguise, type SessionDisguise } from './disguise.ts';

export interface HostActivity {
  readonly extensionId: string;
  readonly method: string;
  /** A short, secret-free summary of what was asked (paths, commands, URLs). */
  readonly summary: string;
}

export interface HoneytokenHit {
  readonly extensionId: string;
  readonly method: string;
  readonly variable: string;
}

export interface HeadlessHostOptions {
  readonly cwd: string;
  readonly home: string;
  /** Extra planted environment (beyond PATH/HOME/USER and the honeytokens). */
  readonly env?: Readonly<Record<string, string>>;
  readonly flags?: Readonly<Record<string, string | boolean>>;
  /** The login name the sandbox's `os.userInfo()` reports; `USER` says the same. */
  readonly user?: string;
  /** The per-run values the session shows (default: a fresh one). */
  readonly disguise?: SessionDisguise;
}

/** The activity summary is printed by `probe`: what the extension wanted shown, without terminal control. */
function summarise(method: string, sent: Readonly<Record<string, unknown>>): string {
  return stripTerminalControls(summary(method, forTerminal(method, sent)));
}

function summary(method: string, p: Readonly<Record<string, unknown>>): string {
  const pick = (k: string) => (typeof p[k] === 'string' ? p[k].slice(0, 200) : undefined);
  if (method === 'exec' || method === 'exec.spawn')
    return [pick('cmd'), ...(Array.isArray(p.args) ? (p.args as unknown[]).map(String) : [])].join(' ').slice(0, 200);
  if (method === 'http') return `${pick('method') ?? 'GET'} ${pick('url') ?? ''}`;
  if (method === 'net.connect') return pick('path') ?? `${pick('host') ?? 'localhost'}:${String(p.port)}`;
  if (method.startsWith('fs.')) return pick('path') ?? pick('from') ?? pick('prefix') ?? '';
  if (method === 'env.get') return pick('name') ?? '';
  if (method === 'tool') return pick('name') ?? '';
  if (method === 'log') return (pick('message') ?? '').slice(0, 120);
  if (Array.isArray(p.args) && typeof p.args[0] === 'string') return p.args[0].slice(0, 120);
  return pick('customType') ?? pick('name') ?? '';
}

/** `host:port` of a URL, as Node's connection error names it. */
function httpTarget(url: unknown): string {
  try {
    const u = new URL(String(url));
    return `${u.hostname}:${u.port === '' ? (u.protocol === 'http:' ? '80' : '443') : u.port}`;
  } catch {
    return String(url).slice(0, 200);
  }
}

export class HeadlessHost implements ExtensionHost {
  readonly registrations = new Map<string, Registration[]>();
  readonly activity: HostActivity[] = [];
  readonly honeytokenHits: HoneytokenHit[] = [];
  /** What the extension wrote, by absolute path (bytes; nothing reaches the disk). */
  readonly writes = new Map<string, Buffer>();
  readonly env: Readonly<Record<string, string>>;
  readonly honeytokens: ReadonlyMap<string, string>;
  readonly disguise: SessionDisguise;
  readonly #options: HeadlessHostOptions;
  #activeTools: string[] | undefined;
  #sessionName: string | undefined;

  constructor(options: HeadlessHostOptions) {
    this.#options = options;
    this.disguise = options.disguise ?? newDisguise();
    const tokens = this.disguise.honeytokens;
    this.honeytokens = tokens;
    this.env = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: options.home,
      USER: options.user ?? 'user',
      SHELL: this.disguise.shell,
      ...Object.fromEntries(tokens),
      ...options.env,
    };
  }

  registrationsOf(extensionId: string): readonly Registration[] {
    return this.registrations.get(extensionId) ?? [];
  }

  register(extensionId: string, registration: Registration): void {
    const list = this.registrations.get(extensionId) ?? [];
    list.push(registration);
    this.registrations.set(extensionId, list);
  }

  #scanForHoneytokens(extensionId: string, method: string, params: unknown): void {
    const text = JSON.stringify(params) ?? '';
    for (const [name, value] of this.honeytokens) {
      if (text.includes(value)) this.honeytokenHits.push({ extensionId, method, variable: name });
    }
  }

  perform(method: string, params: Readonly<Record<string, unknown>>, ctx: OperationContext): unknown {
    this.activity.push({ extensionId: ctx.extensionId, method, summary: summarise(method, params) });
    if (method !== 'env.get' && method !== 'env.list') this.#scanForHoneytokens(ctx.extensionId, method, params);
    const args = Array.isArray(params.args) ? (params.args as unknown[]) : [];
    switch (method) {
      // ---- Node shims
      case 'fs.read': {
        const path = String(params.path);
        const overlay = this.writes.get(path);
        const data = overlay ?? readFileSync(path);
        return params.encoding === 'utf8' ? data.toString('utf8') : data.toString('base64');
      }
      case 'fs.exists':
        return this.writes.has(String(params.path)) || existsSync(String(params.path));
      case 'fs.stat': {
        const s = params.followSymlinks === false ? lstatSync(String(params.path)) : statSync(String(params.path));
        return statData(s);
      }
      case 'fs.list': {
        const entries = readdirSync(String(params.path), { withFileTypes: true });
        return params.withFileTypes === true
          ? entries.map((e) => ({
              name: e.name,
              type: e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : 'other',
            }))
          : entries.map((e) => e.name);
      }
      case 'fs.realpath':
        return realpathSync(String(params.path));
      case 'fs.write': {
        const path = String(params.path);
        const data = Buffer.from(String(params.data), params.encoding === 'base64' ? 'base64' : 'utf8');
        this.writes.set(path, params.append === true ? Buffer.concat([this.writes.get(path) ?? Buffer.alloc(0), data]) : data);
        return null;
      }
      case 'fs.mkdtemp':
        return `${String(params.prefix)}${randomBytes(4).toString('base64url').slice(0, 6)}`;
      case 'fs.mkdir':
      case 'fs.delete':
      case 'fs.rename':
      case 'fs.copy':
      case 'fs.symlink':
      case 'fs.chmod':
        return null;
      case 'env.get':
        return this.env[String(params.name)] ?? null;
      case 'env.list':
        return Object.keys(this.env);
      case 'exec':
      case 'exec.spawn':
        // What a shell says for a program that is not installed: nothing here names the probe.
        return {
          stdout: '',
          stderr: `${this.disguise.shell}: ${typeof params.cmd === 'string' ? params.cmd : ''}: command not found\n`,
          code: 127,
          killed: false,
        };
      case 'exec.read':
        return { stdout: '', stderr: '', done: true, code: 127 };
      case 'exec.write':
      case 'exec.kill':
        return null;
      case 'http':
        throw new WardenError('io', `connect ECONNREFUSED ${httpTarget(params.url)}`, { reasonCodes: ['ECONNREFUSED'] });
      case 'net.connect': {
        // Nothing listens here, as on a machine where the extension's server is not running.
        const target =
          typeof params.path === 'string'
            ? params.path
            : `${typeof params.host === 'string' ? params.host : '127.0.0.1'}:${String(params.port)}`;
        throw new WardenError('io', `net.connect: ECONNREFUSED: connect ECONNREFUSED ${target}`, { reasonCodes: ['ECONNREFUSED'] });
      }
      case 'log':
        return null;
      case 'tool':
        return { content: [{ type: 'text', text: '' }], details: {} };
      // ---- pi.*
      case 'pi.getFlag': {
        const flags = this.#options.flags ?? {};
        return Object.hasOwn(flags, String(params.name)) ? flags[String(params.name)] : null;
      }
      case 'pi.getSessionName':
        return this.#sessionName ?? null;
      case 'pi.setSessionName':
        this.#sessionName = String(params.name);
        return null;
      case 'pi.getActiveTools':
        return this.#activeTools ?? ['read', 'bash', 'edit', 'write'];
      case 'pi.setActiveTools':
        this.#activeTools = (params.names as string[]).slice();
        return null;
      case 'pi.getAllTools':
        return [...this.registrations.values()]
          .flat()
          .filter((r) => r.kind === 'tool')
          .map((r) => ({ name: r.name, description: r.description.description ?? '', parameters: r.description.parameters ?? {} }));
      case 'pi.getCommands':
        return [...this.registrations.values()]
          .flat()
          .filter((r) => r.kind === 'command')
          .map((r) => ({ name: r.name, description: r.description.description ?? '', source: 'extension' }));
      case 'pi.getThinkingLevel':
        return 'off';
      case 'pi.setModel':
        return true;
      case 'pi.getMcpServers':
        return [];
      case 'pi.getSettings':
        return {};
      // ---- ctx.ui.*: a cooperative user
      case 'ctx.ui.select':
        return Array.isArray(args[1]) && args[1].length > 0
          ? typeof args[1][0] === 'string'
            ? args[1][0]
            : ((args[1][0] as { value?: unknown }).value ?? null)
          : null;
      case 'ctx.ui.confirm':
        return true;
      case 'ctx.ui.input':
        return this.disguise.answer;
      case 'ctx.ui.editor':
        return typeof args[1] === 'string' ? args[1] : this.disguise.answer;
      case 'ctx.ui.custom':
        return null;
      case 'ctx.ui.getEditorText':
        return '';
      case 'ctx.ui.getAllThemes':
        return [{ name: 'dark', path: null }];
      case 'ctx.ui.getTheme':
        return null;
      case 'ctx.ui.setTheme':
        return { success: true };
      case 'ctx.ui.getToolsExpanded':
        return false;
      case 'ctx.ui.getEditorComponent':
        return null;
      // ---- ctx.sessionManager.*
      case 'ctx.sessionManager.getCwd':
        return this.#options.cwd;
      case 'ctx.sessionManager.getSessionId':
        return this.disguise.sessionId;
      case 'ctx.sessionManager.getSessionFile':
        return null;
      case 'ctx.sessionManager.getSessionDir':
        return `${this.#options.home}/.pi/agent/sessions`;
      case 'ctx.sessionManager.getBranch':
      case 'ctx.sessionManager.getEntries':
      case 'ctx.sessionManager.getTree':
        return [];
      case 'ctx.sessionManager.getHeader':
        return { type: 'session', id: this.disguise.sessionId, cwd: this.#options.cwd };
      // ---- ctx.modelRegistry.*: a key request returns a honeytoken (it is a credential)
      case 'ctx.modelRegistry.getApiKey':
      case 'ctx.modelRegistry.getApiKeyForProvider':
        return this.honeytokens.get('ANTHROPIC_API_KEY') ?? null;
      case 'ctx.modelRegistry.getApiKeyAndHeaders':
        return { apiKey: this.honeytokens.get('ANTHROPIC_API_KEY'), headers: {} };
      case 'ctx.modelRegistry.getAll':
      case 'ctx.modelRegistry.getAvailable':
        return [];
      case 'ctx.modelRegistry.find':
        return null;
      case 'ctx.modelRegistry.hasConfiguredAuth':
        return false;
      // ---- ctx.*
      case 'ctx.isIdle':
        return true;
      case 'ctx.hasPendingMessages':
        return false;
      case 'ctx.getContextUsage':
        return null;
      case 'ctx.getSystemPrompt':
        return '';
      case 'ctx.getSystemPromptOptions':
        return {};
      case 'ctx.newSession':
      case 'ctx.fork':
      case 'ctx.navigateTree':
      case 'ctx.switchSession':
        return { cancelled: true };
      default:
        // Fire-and-forget actions (sendMessage, notify, setStatus, ...): recorded above, nothing to return.
        return null;
    }
  }
}
