/** GUEST CODE, evaluated on first use (cryptoOnDemand.ts): the AES modes the guest uses, only these bundled. */
export { cbc, ctr, gcm } from '@noble/ciphers/aes.js';
