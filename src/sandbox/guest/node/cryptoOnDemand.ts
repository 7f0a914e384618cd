/**
 * GUEST CODE. The @noble modules that cost memory, loaded on an extension's first use instead of at boot (ADR 0037,
 * issue 18 item 5). Each file of `ondemand/` is bundled and compiled by the host apart from the runtime
 * (runtime.ts `onDemandSources`) and evaluated into this instance at the first call below: neither its code nor
 * what it builds (AES's 256x256 lookup tables, the curves' fields) is in the snapshot every sandbox restores.
 */
import { onDemandModule } from '../abi.ts';
import type * as AesModule from './ondemand/aes.ts';
import type * as CurvesModule from './ondemand/curves.ts';

type Aes = typeof AesModule;
type Curves = typeof CurvesModule;

let aesModule: Aes | undefined;
let curvesModule: Curves | undefined;

export const aes = (): Aes => (aesModule ??= onDemandModule('aes') as Aes);
export const ed25519 = (): Curves['ed25519'] => (curvesModule ??= onDemandModule('curves') as Curves).ed25519;
export const p256 = (): Curves['p256'] => (curvesModule ??= onDemandModule('curves') as Curves).p256;
