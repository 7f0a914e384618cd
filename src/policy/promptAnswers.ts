/**
 * Remembered prompt answers (SPEC §4.2). Only answers the user chose to remember ("always") are written, and only
 * into the user settings file under `extensionPolicy.promptAnswers.<extension>.<capability>`, where `policy
 * explain` shows them and `policy forget` removes them. "Once" answers are never persisted (the reference
 * persisted every answer, so "Allow once" acted as "Allow always").
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { WardenError } from '../errors.ts';
import { isCapability, type Capability } from './capabilities.ts';
import { isValidExtensionId } from './extensionId.ts';
import { parseSettingsText } from './settingsSchema.ts';

/** How far an answer reaches: this call, this dispatcher's lifetime, or persisted. */
export type PromptScope = 'once' | 'session' | 'always';

export interface PromptAnswer {
  readonly decision: 'allow' | 'deny';
  readonly scope: PromptScope;
}

type Json = Record<string, unknown>;

/** A settings file as an object ({} when absent); refuses, naming the key, a file it would have to rewrite blind. */
export function readSettingsObject(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new WardenError('io', `cannot read ${path}: ${(err as Error).message}`, { where: path, cause: err });
  }
  const json = parseSettingsText(text);
  if (!json.ok) {
    const p = json.problem;
    throw new WardenError('settings_invalid', `${path}: ${p.key}: expected ${p.expected}, found ${p.actual}; not rewriting it`, {
      where: path,
    });
  }
  const parsed = json.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WardenError('settings_invalid', `${path}: (top level): expected a JSON object; not rewriting it`, { where: path });
  }
  return parsed as Json;
}

/** Writes through a temporary file and rename, keeping the file's mode, so a crash never leaves half a file. */
export function writeSettingsObject(path: string, value: Json): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let mode = 0o600;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    // new file: 0600
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function section(root: Json, key: string): Json {
  const existing = root[key];
  if (existing !== undefined && (existing === null || typeof existing !== 'object' || Array.isArray(existing))) {
    throw new WardenError('settings_invalid', `settings key ${key} is not an object; not rewriting it`, { where: key });
  }
  const obj = (existing ?? {}) as Json;
  root[key] = obj;
  return obj;
}

export function rememberPromptAnswer(settingsPath: string, extensionId: string, capability: Capability, decision: 'allow' | 'deny'): void {
  if (!isValidExtensionId(extensionId) || !isCapability(capability)) {
    throw new WardenError(
      'invalid_request',
      `cannot remember an answer for extension ${JSON.stringify(extensionId)} and capability ${JSON.stringify(capability)}`,
    );
  }
  const root = readSettingsObject(settingsPath);
  const answers = section(section(root, 'extensionPolicy'), 'promptAnswers');
  const forExt = section(answers, extensionId);
  forExt[capability] = decision;
  writeSettingsObject(settingsPath, root);
}

/** Removes remembered answers for one extension (one capability, or all). Returns how many were removed. */
export function forgetPromptAnswers(settingsPath: string, extensionId: string, capability?: Capability): number {
  const root = readSettingsObject(settingsPath);
  const policy = root.extensionPolicy as Json | undefined;
  const answers = policy?.promptAnswers as Json | undefined;
  const forExt = answers !== undefined && Object.hasOwn(answers, extensionId) ? (answers[extensionId] as Json) : undefined;
  if (policy === undefined || answers === undefined || forExt === undefined) return 0;
  let removed = 0;
  for (const cap of Object.keys(forExt)) {
    if (capability === undefined || cap === capability) {
      delete forExt[cap];
      removed++;
    }
  }
  if (Object.keys(forExt).length === 0) delete answers[extensionId];
  if (Object.keys(answers).length === 0) delete policy.promptAnswers;
  if (removed > 0) writeSettingsObject(settingsPath, root);
  return removed;
}
