/**
 * What the simulated session looks like from inside the sandbox, drawn afresh for every probe (issue 15 item 5).
 * A fixed value an extension can read (a session id, a model, a token prefix, a timestamp of 0) lets a hostile
 * extension recognise the probe and stay quiet; so every value it can observe is random or taken from the real
 * machine, and shaped like what pi would give it.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Names a credential thief looks for first; each gets a fresh fake value per probe. */
export const HONEYTOKEN_NAMES = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GEMINI_API_KEY',
  'GITHUB_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'NPM_TOKEN',
  'OPENROUTER_API_KEY',
] as const;

export interface SessionDisguise {
  readonly sessionId: string;
  readonly model: { readonly provider: string; readonly id: string };
  /** The user's first prompt of the session. */
  readonly prompt: string;
  /** Ids of the tool call the lifecycle replays and of the tool invocations the probe makes. */
  readonly toolCallId: string;
  readonly toolInvocationId: string;
  /** The session entry a fork starts at. */
  readonly entryId: string;
  /** A folder name in the destructive command the lifecycle's `tool_call` carries. */
  readonly scratchDir: string;
  readonly shell: string;
  /** The answer to a free-text dialog. */
  readonly answer: string;
  /** A fresh honeytoken per name, in the format the real credential has. */
  readonly honeytokens: ReadonlyMap<string, string>;
}

const MODELS = [
  { provider: 'anthropic', id: 'claude-sonnet-4-5' },
  { provider: 'anthropic', id: 'claude-opus-4-1' },
  { provider: 'openai', id: 'gpt-5' },
  { provider: 'google', id: 'gemini-2.5-pro' },
] as const;
const PROMPTS = [
  'fix the failing test in the parser',
  'add a --verbose flag to the cli',
  'explain what this repository does',
  'refactor the config loader to read env vars',
  'why does the build fail on node 24?',
] as const;
const WORDS = ['tmp', 'build', 'out', 'cache', 'scratch', 'old', 'dist-old', 'coverage'] as const;
const SHELLS = ['/bin/bash', '/bin/zsh', '/usr/bin/fish'] as const;

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)] as T;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A value shaped like the real credential of that name (prefix and length), so a format check does not tell. */
function honeytokenValue(name: (typeof HONEYTOKEN_NAMES)[number]): string {
  switch (name) {
    case 'OPENAI_API_KEY':
      return `sk-proj-${chars(ALNUM, 48)}`;
    case 'ANTHROPIC_API_KEY':
      return `sk-ant-api03-${chars(`${ALNUM}-_`, 93)}AA`;
    case 'GEMINI_API_KEY':
      return `AIza${chars(`${ALNUM}-_`, 35)}`;
    case 'GITHUB_TOKEN':
      return `ghp_${chars(ALNUM, 36)}`;
    case 'AWS_ACCESS_KEY_ID':
      return `AKIA${chars(UPPER_DIGITS, 16)}`;
    case 'AWS_SECRET_ACCESS_KEY':
      return chars(`${ALNUM}+/`, 40);
    case 'NPM_TOKEN':
      return `npm_${chars(ALNUM, 36)}`;
    case 'OPENROUTER_API_KEY':
      return `sk-or-v1-${hex(32)}`;
  }
}

export function newDisguise(): SessionDisguise {
  return {
    sessionId: randomUUID(),
    model: pick(MODELS),
    prompt: pick(PROMPTS),
    toolCallId: `toolu_01${chars(ALNUM, 22)}`,
    toolInvocationId: `toolu_01${chars(ALNUM, 22)}`,
    entryId: hex(4),
    scratchDir: `${pick(WORDS)}-${hex(2)}`,
    shell: pick(SHELLS),
    answer: pick(WORDS),
    honeytokens: new Map(HONEYTOKEN_NAMES.map((n) => [n, honeytokenValue(n)])),
  };
}
