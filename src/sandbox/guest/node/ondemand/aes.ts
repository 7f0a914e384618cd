/** GUEST CODE. The AES modes the guest uses, required on first use (cryptoOnDemand.ts): only these are bundled. */
export { cbc, ctr, gcm } from '@noble/ciphers/aes.js';
