/**
 * GUEST CODE. `require` for the bundle: the extension's own files and npm dependencies are already inside the
 * bundle; what is left are Node built-ins (shims), host packages (virtual modules) and modules that are denied.
 */
import { hostPackage } from './hostPackages.ts';
import buffer from './node/buffer.ts';
import childProcess from './node/child_process.ts';
import crypto from './node/crypto.ts';
import events from './node/events.ts';
import fs, { fsPromises } from './node/fs.ts';
import { http, https } from './node/http.ts';
import net from './node/net.ts';
import {
  assert,
  DENIED,
  deniedModule,
  os,
  perfHooks,
  querystring,
  readline,
  stream,
  StringDecoder,
  tty,
  types,
  url,
  util,
} from './node/misc.ts';
import path from './node/path.ts';
import { process } from './node/process.ts';
import timers, { promises as timerPromises } from './node/timers.ts';
import { compileModule, typeboxModule, valueModule } from './typebox.ts';

let requireFn: (name: string) => unknown = () => undefined;

const NODE: Record<string, () => unknown> = {
  fs: () => fs,
  'fs/promises': () => fsPromises,
  path: () => path,
  'path/posix': () => path,
  os: () => ({ ...os, default: os }),
  child_process: () => childProcess,
  process: () => process,
  url: () => ({ ...url, default: url }),
  util: () => ({ ...util, default: util }),
  'util/types': () => types,
  events: () => events,
  buffer: () => buffer,
  crypto: () => crypto,
  timers: () => timers,
  'timers/promises': () => timerPromises,
  stream: () => stream,
  'stream/promises': () => stream.promises,
  readline: () => readline,
  'readline/promises': () => readline,
  http: () => http,
  https: () => https,
  net: () => net,
  string_decoder: () => ({ StringDecoder }),
  assert: () => assert,
  'assert/strict': () => assert,
  querystring: () => querystring,
  tty: () => tty,
  perf_hooks: () => perfHooks,
  module: () => ({
    createRequire: () => requireFn,
    builtinModules: Object.keys(NODE),
    isBuiltin: (n: string) => Object.hasOwn(NODE, n.replace(/^node:/, '')),
  }),
};

const cache = new Map<string, unknown>();

function notFound(name: string): never {
  throw Object.assign(
    new Error(`Cannot find module '${name}': only bundled files, Node built-ins and pi's host packages exist in the sandbox`),
    { code: 'MODULE_NOT_FOUND' },
  );
}

export function requireModule(name: string): unknown {
  const key = String(name);
  if (cache.has(key)) return cache.get(key);
  const bare = key.replace(/^node:/, '');
  let value: unknown;
  if (Object.hasOwn(NODE, bare)) value = NODE[bare]!();
  else if (DENIED.has(bare.split('/')[0]!)) value = deniedModule(bare);
  else if (key === 'typebox' || key === '@sinclair/typebox') value = typeboxModule;
  else if (key === 'typebox/compile' || key === '@sinclair/typebox/compiler') value = compileModule;
  else if (key === 'typebox/value' || key === '@sinclair/typebox/value') value = valueModule;
  else value = hostPackage(key) ?? notFound(key);
  cache.set(key, value);
  return value;
}

requireFn = Object.assign((name: string) => requireModule(name), {
  resolve: (name: string) => name,
  cache: {},
});

export const guestRequire = requireFn;
