/** GUEST CODE. The curves the guest uses, required on first use (cryptoOnDemand.ts): only these are bundled. */
export { ed25519 } from '@noble/curves/ed25519.js';
export { p256 } from '@noble/curves/nist.js';
