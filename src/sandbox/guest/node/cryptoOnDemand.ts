/**
 * GUEST CODE. The @noble modules that cost memory when evaluated, loaded on an extension's first use instead of at
 * boot. AES builds 256×256 lookup tables (about 1.5 MiB) and the curves their fields; evaluated at boot they would be
 * in the snapshot every sandbox restores, used or not (ADR 0037). esbuild bundles each `require` below as a module
 * initialised at its first call; the files required re-export only what the guest uses, so the rest is left out.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a `require` is what esbuild initialises lazily; see above */
import type * as AesModule from './ondemand/aes.ts';
import type * as CurvesModule from './ondemand/curves.ts';

type Aes = typeof AesModule;
type Curves = typeof CurvesModule;

let aesModule: Aes | undefined;
let curvesModule: Curves | undefined;

export const aes = (): Aes => (aesModule ??= require('./ondemand/aes.ts') as Aes);
export const ed25519 = (): Curves['ed25519'] => (curvesModule ??= require('./ondemand/curves.ts') as Curves).ed25519;
export const p256 = (): Curves['p256'] => (curvesModule ??= require('./ondemand/curves.ts') as Curves).p256;
