/**
 * Runs the real pi client (no mocks, no model service) for the bridge's tests: pi-ai's faux provider plays the
 * model from a script (fixtures/faux-extension.ts), and pi runs in one of four modes:
 * - SDK: `createAgentSession` in this process with a `DefaultResourceLoader` given `extensionFactories` and
 *   `noExtensions` (nothing of the user's is discovered); `runSdkSession`.
 * - CLI print / JSON: the version's `pi` bin as a child, `-e` extension files, `-p` or `--mode json`; `runCli`.
 * - CLI RPC: the same bin with `--mode rpc`, a `prompt` command on stdin, JSON events read until `agent_end`;
 *   `runRpc`.
 * - Launcher: `main(args, { extensionFactories })` of the version in a child (fixtures/launch.ts), the way
 *   `pi-warden pi` starts pi; `runLauncher`.
 *
 * Isolation: pi finds its agent dir (settings, auth.json, models, sessions) through PI_CODING_AGENT_DIR
 * (config.js `getAgentDir`, the same name in all three versions) and the user's skills and trust roots through
 * HOME. Children get both pointed into a scratch dir, plus PI_OFFLINE=1, PI_SKIP_VERSION_CHECK=1 and
 * PI_TELEMETRY=0 so startup makes no network request. SDK runs pass `agentDir`/`cwd` to every constructor that
 * takes them and also point this process's HOME and PI_CODING_AGENT_DIR at the scratch dir, because pi reads
 * them lazily where no option reaches (`getAgentDir()` defaults in crash-log, keybindings, auth storage); a test
 * file is its own process under `node --test`, so this changes nothing outside it.
 *
 * What differs between the versions (read from each one's dist/):
 * - Packages: 1.6.0 and 1.5.2 are `@earendil-works/*` (1.5.2 installed as the npm alias `pi-coding-agent-1.5.2`
 *   with its own nested pi-ai); 0.73.1 is `@mariozechner/*`.
 * - CLI bin: 1.x `dist/bundle/cli.js` (a bundle: extensions see pi's modules as jiti virtual modules);
 *   0.73.1 `dist/cli.js` (jiti aliases to node_modules).
 * - Faux provider: 1.x `fauxProvider()` returns a native `Provider` that `pi.registerProvider(provider)` takes;
 *   0.73.1 has only `registerFauxProvider()` and `registerProvider(name, config)` with a baseUrl and an apiKey.
 * - Model lookup on a session: 1.x `session.modelRuntime.getModel(provider, id)`; 0.73.1
 *   `session.modelRegistry.find(provider, id)`. Neither picks the faux model by itself (no default provider in
 *   a scratch agent dir), so `runSdkSession` sets it; the CLI gets `--provider faux --model faux-1`.
 * - `session.messages`: 1.x starts with a `system` message, 0.73.1 does not.
 * - `main`'s `extensionFactories`: 1.x takes `InlineExtension` (a factory or `{ name, factory }`), 0.73.1 plain
 *   factories; the harness passes plain factories, which both accept.
 * - Tools offered to the model: 0.73.1 passes `context.tools`; 1.x a transcript whose system messages carry
 *   `toolsAdded`/`toolsRemoved` (the faux extension folds both into `ModelRequest.tools`).
 * All four modes run in all three versions; none needed a workaround beyond the above.
 *
 * A script's steps are consumed in order across the whole session, so a follow-up `session.prompt()` takes the
 * steps after those of the first prompt; when they run out the faux provider answers with an error message
 * ("No more faux responses queued").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  FAUX_MODEL,
  FAUX_PROVIDER,
  FAUX_SCRIPT_ENV,
  fauxExtension,
  type FauxScript,
  type FauxStep,
  type ModelRequest,
} from './fixtures/faux-extension.ts';

export { FAUX_MODEL, FAUX_PROVIDER, TOOL_RESULT_SLOT, type FauxStep, type ModelRequest } from './fixtures/faux-extension.ts';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** The `-e` extension that installs the faux provider in a CLI run. */
export const FAUX_EXTENSION_FILE = join(FIXTURES, 'faux-extension.ts');
const LAUNCH_SCRIPT = join(FIXTURES, 'launch.ts');

/** A child that has not finished by then is killed and its run fails; generous for a loaded 2-core machine. */
const CHILD_DEADLINE_MS = 60_000;

export const PI_VERSION_IDS = ['1.6.0', '1.5.2', '0.73.1'] as const;
export type PiVersionId = (typeof PI_VERSION_IDS)[number];

export interface PiVersion {
  readonly id: PiVersionId;
  /** file URL of the coding agent's dist/index.js (SDK, `main`). */
  readonly codingAgent: string;
  /** file URL of this version's own pi-ai dist/index.js (the faux provider). */
  readonly piAi: string;
  /** absolute path of the `pi` bin. */
  readonly cli: string;
}

function version(id: PiVersionId, codingAgentDir: string, piAiDir: string, bin: string): PiVersion {
  const codingAgent = join(NODE_MODULES, codingAgentDir);
  return {
    id,
    codingAgent: pathToFileURL(join(codingAgent, 'dist/index.js')).href,
    piAi: pathToFileURL(join(NODE_MODULES, piAiDir, 'dist/index.js')).href,
    cli: join(codingAgent, bin),
  };
}

export const PI_VERSIONS: readonly PiVersion[] = [
  version('1.6.0', '@earendil-works/pi-coding-agent', '@earendil-works/pi-ai', 'dist/bundle/cli.js'),
  version('1.5.2', 'pi-coding-agent-1.5.2', 'pi-coding-agent-1.5.2/node_modules/@earendil-works/pi-ai', 'dist/bundle/cli.js'),
  version('0.73.1', '@mariozechner/pi-coding-agent', '@mariozechner/pi-ai', 'dist/cli.js'),
];

/** An extension factory as every version's loader takes it; typed loosely because the three APIs differ. */
export type PiExtensionFactory = (pi: never) => unknown;

/** A message as pi keeps it (the fields the harness reads). */
export interface PiMessage {
  readonly role: string;
  readonly content?: unknown;
  readonly toolName?: string;
  readonly isError?: boolean;
}

/** The surface of an AgentSession the harness uses (1.6.0, 1.5.2 and 0.73.1 share it). */
export interface PiSession {
  prompt(text: string): Promise<void>;
  setModel(model: unknown): Promise<void>;
  subscribe(listener: (event: { readonly type: string }) => void): () => void;
  dispose(): void;
  readonly messages: readonly PiMessage[];
  readonly model?: { readonly provider: string; readonly id: string };
  /** 1.x */
  readonly modelRuntime?: { getModel(provider: string, id: string): unknown };
  /** 0.73.1 */
  readonly modelRegistry?: { find(provider: string, id: string): unknown };
}

interface PiModule {
  createAgentSession(options: Record<string, unknown>): Promise<{ session: PiSession }>;
  DefaultResourceLoader: new (options: Record<string, unknown>) => { reload(): Promise<void> };
  SettingsManager: { create(cwd: string, agentDir: string): unknown };
  SessionManager: { inMemory(cwd: string): unknown };
}

export async function importPi(version: PiVersion): Promise<PiModule> {
  return (await import(version.codingAgent)) as PiModule;
}

// ---------------------------------------------------------------------------------------------------------------
// Scratch dirs

export interface ScratchPi {
  readonly root: string;
  /** PI_CODING_AGENT_DIR: settings.json, auth.json, sessions/ … */
  readonly agentDir: string;
  /** the project pi runs in */
  readonly cwd: string;
  /** env for a pi child: HOME and PI_CODING_AGENT_DIR inside root, startup network off, no colour */
  readonly env: Readonly<Record<string, string>>;
}

const scratchRoots: string[] = [];
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const root of scratchRoots) rmSync(root, { recursive: true, force: true });
});

/** A temp HOME with an agent dir and a project dir, removed when the test file ends. */
export function scratchPi(): ScratchPi {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-pi-'));
  scratchRoots.push(root);
  const agentDir = join(root, 'agent');
  const cwd = join(root, 'project');
  mkdirSync(agentDir, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const env = {
    HOME: root,
    PI_CODING_AGENT_DIR: agentDir,
    PI_OFFLINE: '1',
    PI_SKIP_VERSION_CHECK: '1',
    PI_TELEMETRY: '0',
    NO_COLOR: '1',
  };
  return { root, agentDir, cwd, env };
}

// ---------------------------------------------------------------------------------------------------------------
// Scripted model

export interface ModelScript {
  /** the file a CLI child reads through PI_HARNESS_FAUX_SCRIPT */
  readonly file: string;
  readonly script: FauxScript;
  /** every request the model received so far, in order */
  requests(): ModelRequest[];
}

let scriptCount = 0;

/** Writes a script for one run: the model's turns in order, and a fresh log of what it is sent. */
export function modelScript(scratch: ScratchPi, version: PiVersion, steps: readonly FauxStep[]): ModelScript {
  scriptCount += 1;
  const dir = join(scratch.root, 'faux');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `script-${scriptCount}.json`);
  const script: FauxScript = { steps, requestLog: join(dir, `requests-${scriptCount}.jsonl`), piAi: version.piAi };
  writeFileSync(file, JSON.stringify(script));
  return {
    file,
    script,
    requests: () =>
      existsSync(script.requestLog)
        ? readFileSync(script.requestLog, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as ModelRequest)
        : [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Transcripts

export interface ToolCall {
  readonly name: string;
  readonly arguments: unknown;
}
export interface ToolResult {
  readonly toolName: string;
  readonly text: string;
  readonly isError: boolean;
}
export interface Transcript {
  readonly messages: readonly PiMessage[];
  readonly toolCalls: readonly ToolCall[];
  readonly toolResults: readonly ToolResult[];
  /** the text of the last assistant message */
  readonly finalText: string;
}

function contentBlocks(message: PiMessage): { type?: string; text?: string; name?: string; arguments?: unknown }[] {
  return Array.isArray(message.content) ? (message.content as { type?: string }[]) : [];
}

function textOf(message: PiMessage): string {
  if (typeof message.content === 'string') return message.content;
  return contentBlocks(message)
    .filter((c) => c.type === 'text')
    .map((c) => c.text ?? '')
    .join('');
}

export function transcript(messages: readonly PiMessage[]): Transcript {
  const assistant = messages.filter((m) => m.role === 'assistant');
  return {
    messages,
    toolCalls: assistant.flatMap((m) =>
      contentBlocks(m)
        .filter((c) => c.type === 'toolCall')
        .map((c) => ({ name: c.name ?? '', arguments: c.arguments })),
    ),
    toolResults: messages
      .filter((m) => m.role === 'toolResult')
      .map((m) => ({ toolName: m.toolName ?? '', text: textOf(m), isError: m.isError === true })),
    finalText: assistant.length === 0 ? '' : textOf(assistant.at(-1)!),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SDK

export interface SdkRun extends Transcript {
  /** the live session, for follow-up prompts; disposed when the test file ends */
  readonly session: PiSession;
  /** every session event of the run, in order */
  readonly events: readonly { readonly type: string }[];
  readonly requests: readonly ModelRequest[];
  readonly model: ModelScript;
}

const sessions: PiSession[] = [];
after(() => {
  for (const session of sessions) session.dispose();
});

/** Runs one prompt through `createAgentSession` with the faux model and the given inline extensions. */
export async function runSdkSession(options: {
  version: PiVersion;
  scratch: ScratchPi;
  extensionFactories: readonly PiExtensionFactory[];
  script: readonly FauxStep[];
  prompt: string;
}): Promise<SdkRun> {
  const { version, scratch } = options;
  process.env.HOME = scratch.root;
  process.env.PI_CODING_AGENT_DIR = scratch.agentDir;
  process.env.PI_OFFLINE = '1';
  const pi = await importPi(version);
  const model = modelScript(scratch, version, options.script);
  const { cwd, agentDir } = scratch;
  const settingsManager = pi.SettingsManager.create(cwd, agentDir);
  const resourceLoader = new pi.DefaultResourceLoader({
    cwd,
    agentDir,
    settingsManager,
    noExtensions: true,
    extensionFactories: [fauxExtension(model.script), ...options.extensionFactories],
  });
  await resourceLoader.reload();
  const { session } = await pi.createAgentSession({
    cwd,
    agentDir,
    settingsManager,
    resourceLoader,
    sessionManager: pi.SessionManager.inMemory(cwd),
  });
  sessions.push(session);
  const faux = session.modelRuntime?.getModel(FAUX_PROVIDER, FAUX_MODEL) ?? session.modelRegistry?.find(FAUX_PROVIDER, FAUX_MODEL);
  if (faux === undefined)
    throw new Error(
      `expected pi ${version.id} to list ${FAUX_PROVIDER}/${FAUX_MODEL} after loading the faux extension, found no such model`,
    );
  await session.setModel(faux);
  const events: { type: string }[] = [];
  const unsubscribe = session.subscribe((event) => events.push(event));
  try {
    await session.prompt(options.prompt);
  } finally {
    unsubscribe();
  }
  return { ...transcript(session.messages), session, events, requests: model.requests(), model };
}

// ---------------------------------------------------------------------------------------------------------------
// Children: CLI print/JSON, RPC, launcher

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnPi(args: readonly string[], scratch: ScratchPi, env: Readonly<Record<string, string>>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: scratch.cwd,
    // Only PATH from this process: a developer's PI_* or API keys must not reach the child.
    env: { PATH: process.env.PATH ?? '', ...scratch.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function collect(child: ChildProcess, what: string, stdin?: string): Promise<ChildRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(stdin ?? '');
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`expected ${what} to exit within ${CHILD_DEADLINE_MS} ms, found it still running; stderr: ${stderr}`));
    }, CHILD_DEADLINE_MS);
    child.once('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function jsonLines(text: string): { type?: string; [key: string]: unknown }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type?: string });
}

export interface CliRun extends ChildRun {
  /** stdout's JSON lines (JSON mode) */
  readonly events: readonly { type?: string; [key: string]: unknown }[];
  readonly requests: readonly ModelRequest[];
}

/**
 * The version's `pi` bin with the faux provider as an `-e` extension: `args` are pi's own (add `-p PROMPT` for
 * print mode, `--mode json -p PROMPT` for JSON mode, `-e FILE` for more extensions).
 */
export async function runCli(options: {
  version: PiVersion;
  scratch: ScratchPi;
  script: readonly FauxStep[];
  args: readonly string[];
  env?: Readonly<Record<string, string>>;
  stdin?: string;
  /** what node runs instead of the version's `pi` bin, e.g. `[PI_WARDEN_BIN, 'pi']` (the launcher route) */
  command?: readonly string[];
}): Promise<CliRun> {
  const { version, scratch } = options;
  const model = modelScript(scratch, version, options.script);
  const child = spawnPi(
    [...(options.command ?? [version.cli]), '-e', FAUX_EXTENSION_FILE, '--provider', FAUX_PROVIDER, '--model', FAUX_MODEL, ...options.args],
    scratch,
    { ...options.env, [FAUX_SCRIPT_ENV]: model.file },
  );
  const run = await collect(child, `pi ${version.id} ${options.args.join(' ')}`, options.stdin);
  return { ...run, events: jsonLines(run.stdout), requests: model.requests() };
}

export interface RpcRun extends Transcript {
  /** every JSON line pi wrote, up to and including agent_end */
  readonly events: readonly { type?: string; [key: string]: unknown }[];
  readonly requests: readonly ModelRequest[];
  readonly stderr: string;
}

/** `pi --mode rpc`: sends one `prompt` command, reads events until `agent_end`, then closes pi's stdin. */
export async function runRpc(options: {
  version: PiVersion;
  scratch: ScratchPi;
  script: readonly FauxStep[];
  prompt: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** as for runCli */
  command?: readonly string[];
}): Promise<RpcRun> {
  const { version, scratch } = options;
  const model = modelScript(scratch, version, options.script);
  const child = spawnPi(
    [
      ...(options.command ?? [version.cli]),
      '-e',
      FAUX_EXTENSION_FILE,
      '--provider',
      FAUX_PROVIDER,
      '--model',
      FAUX_MODEL,
      '--mode',
      'rpc',
      ...(options.args ?? []),
    ],
    scratch,
    { ...options.env, [FAUX_SCRIPT_ENV]: model.file },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const events: { type?: string; [key: string]: unknown }[] = [];
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ended = new Promise<{ type?: string; messages?: PiMessage[] }>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `expected pi ${version.id} --mode rpc to send agent_end within ${CHILD_DEADLINE_MS} ms, found ${events.length} events; stderr: ${stderr}`,
        ),
      );
    }, CHILD_DEADLINE_MS);
    child.once('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    void exited.then(() => {
      clearTimeout(deadline);
      reject(
        new Error(
          `expected pi ${version.id} --mode rpc to send agent_end, found it exited after ${events.length} events; stderr: ${stderr}`,
        ),
      );
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const event = JSON.parse(line) as { type?: string; messages?: PiMessage[] };
      events.push(event);
      if (event.type === 'agent_end') {
        clearTimeout(deadline);
        resolve(event);
      }
    });
  });
  child.stdin!.write(JSON.stringify({ id: 'harness-1', type: 'prompt', message: options.prompt }) + '\n');
  try {
    const end = await ended;
    return { ...transcript(end.messages ?? []), events, requests: model.requests(), stderr };
  } finally {
    child.stdin!.end();
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The launcher route: fixtures/launch.ts calls the version's `main(args, { extensionFactories })` with the faux
 * extension and the default exports of `factoryModules` as inline factories. Add `--no-extensions` to `args` to
 * load nothing pi would discover.
 */
export async function runLauncher(options: {
  version: PiVersion;
  scratch: ScratchPi;
  script: readonly FauxStep[];
  factoryModules: readonly string[];
  args: readonly string[];
  env?: Readonly<Record<string, string>>;
  stdin?: string;
}): Promise<CliRun> {
  const { version, scratch } = options;
  const model = modelScript(scratch, version, options.script);
  const child = spawnPi([LAUNCH_SCRIPT, '--provider', FAUX_PROVIDER, '--model', FAUX_MODEL, ...options.args], scratch, {
    ...options.env,
    [FAUX_SCRIPT_ENV]: model.file,
    PI_HARNESS_MAIN: version.codingAgent,
    PI_HARNESS_FACTORIES: JSON.stringify([FAUX_EXTENSION_FILE, ...options.factoryModules]),
  });
  const run = await collect(child, `main() of pi ${version.id} ${options.args.join(' ')}`, options.stdin);
  return { ...run, events: jsonLines(run.stdout), requests: model.requests() };
}
