/** GUEST CODE, evaluated on first use (cryptoOnDemand.ts): the curves the guest uses, only these bundled. */
export { ed25519 } from '@noble/curves/ed25519.js';
export { p256 } from '@noble/curves/nist.js';
