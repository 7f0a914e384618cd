/**
 * The runtime risk controller (SPEC §7.1). Per extension it keeps a sliding window of recent calls and an
 * enforcement level with hysteresis. Each call gets a score in [0, 1] = clamped sum of signals (features.ts
 * for the call itself, plus sequence signals: bursts, novelty, permission probing, read-then-send, and a
 * sequential test that flags sustained risk). The score maps to a band per profile; the level escalates
 * at once and steps down one band only after `cooldownCalls` calls clearly below it, so one noisy call does not
 * flap the state. Everything that contributed is returned as the explanation and recorded in the ledger.
 */
import { type Capability, type PlaceRoots, PlaceWords, type Profile, type UrlHost } from '../policy/index.ts';
import { callSignals, isCallSignal, type CallSignal, type Signal } from './features.ts';

/** Signals of the call's place in the sequence of its extension's calls (added to the call's own, features.ts). */
export const SEQUENCE_SIGNALS = [
  'burst_rate',
  'permission_probing',
  'unseen_dangerous_capability',
  'read_then_send',
  'repeated_egress',
  'sustained_risk',
] as const;
export type SequenceSignal = (typeof SEQUENCE_SIGNALS)[number];
export type SignalCode = CallSignal | SequenceSignal;
export type RiskSignal = Signal<SignalCode>;
/** A decision's signals name themselves in a risk refusal's reason codes (most weighty first). */
declare module '../errors.ts' {
  interface ReasonVocabularies {
    riskSignal: SignalCode;
  }
}

export function isSignalCode(code: string): code is SignalCode {
  return isCallSignal(code) || (SEQUENCE_SIGNALS as readonly string[]).includes(code);
}

export const ACTIONS = ['allow', 'harden', 'prompt', 'deny', 'terminate'] as const;
export type RiskAction = (typeof ACTIONS)[number];

/** Score thresholds of harden, prompt, deny, terminate per profile (allow below harden). */
export const BANDS: Readonly<Record<Profile, readonly [number, number, number, number]>> = {
  safe: [0.35, 0.55, 0.7, 0.85],
  balanced: [0.4, 0.6, 0.75, 0.9],
  permissive: [0.55, 0.7, 0.85, 0.95],
};

export interface RiskConfig {
  readonly profile: Profile;
  readonly alpha: number;
  readonly windowSize: number;
  readonly cooldownCalls: number;
  readonly deEscalationMargin: number;
  /** Whether a destination is on `extensionRisk.allowedHosts` (`hostListMatcher`: egress's host patterns). */
  readonly allowlisted: (t: UrlHost) => boolean;
  /** This user's home, agent and pi-warden folders, so absolute paths name the sensitive places too. */
  readonly places?: PlaceRoots;
}

export interface CallObservation {
  readonly ts: number;
  readonly capability: Capability | null;
  readonly method: string;
  readonly refused: boolean;
  readonly signals: readonly SignalCode[];
}

export interface RiskDecision {
  readonly score: number;
  readonly rawAction: RiskAction;
  /** The level after hysteresis: what enforcement acts on. */
  readonly action: RiskAction;
  readonly signals: readonly RiskSignal[];
  readonly reasonCodes: readonly SignalCode[];
}

interface ExtensionState {
  readonly window: CallObservation[];
  next: number;
  calls: number;
  level: number;
  cooldown: number;
  cusum: number;
  readonly seenCapabilities: Set<string>;
  readonly seenMethods: Set<string>;
  lastSensitiveReadTs: number;
}

/** How long a secret read taints later sends (slow-drip exfiltration spreads its sends out). */
const TAINT_MS = 10 * 60_000;
const SENSITIVE_READS: ReadonlySet<SignalCode> = new Set([
  'sensitive_path_read',
  'secret_env_read',
  'credential_read',
  'env_enumeration',
  'credential_harvest',
]);
/** What can carry data off: a request, a child process, a socket to another process (ADR 0038). */
const SEND_CAPABILITIES = new Set<string>(['http', 'exec', 'net']);
const DANGEROUS = new Set<string>(['exec', 'env', 'http', 'net']);

export function bandOf(profile: Profile, score: number): number {
  const b = BANDS[profile];
  let level = 0;
  for (let i = 0; i < b.length; i++) if (score >= (b[i] as number)) level = i + 1;
  return level;
}

export interface Hysteresis {
  level: number;
  cooldown: number;
}

/**
 * One hysteresis step (shared with replay): escalate to the call's band at once; below the band by more than
 * `margin`, count calm calls and step down one band after `cooldownCalls`; terminate is terminal.
 * Returns the call's own band.
 */
export function stepLevel(profile: Profile, h: Hysteresis, score: number, cooldownCalls: number, margin: number): number {
  const raw = bandOf(profile, score);
  if (raw > h.level) {
    h.level = raw;
    h.cooldown = 0;
  } else if (raw < h.level && h.level < 4) {
    if (score < (BANDS[profile][h.level - 1] as number) - margin) {
      h.cooldown++;
      if (h.cooldown >= cooldownCalls) {
        h.level--;
        h.cooldown = 0;
      }
    } else {
      h.cooldown = 0;
    }
  } else {
    h.cooldown = 0;
  }
  return raw;
}

/** The controller's hysteresis constants (recorded here so replay uses the same). */
export const COOLDOWN_CALLS = 3;
export const DE_ESCALATION_MARGIN = 0.1;

export class RiskController {
  readonly #cfg: RiskConfig;
  readonly #state = new Map<string, ExtensionState>();
  readonly #threshold: number;
  readonly #places: PlaceWords;

  constructor(cfg: RiskConfig) {
    this.#cfg = cfg;
    this.#places = new PlaceWords(cfg.places ?? {});
    this.#threshold = Math.log(1 / cfg.alpha);
  }

  #stateOf(id: string): ExtensionState {
    let s = this.#state.get(id);
    if (s === undefined) {
      s = {
        window: [],
        next: 0,
        calls: 0,
        level: 0,
        cooldown: 0,
        cusum: 0,
        seenCapabilities: new Set(),
        seenMethods: new Set(),
        lastSensitiveReadTs: -Infinity,
      };
      this.#state.set(id, s);
    }
    return s;
  }

  /** Scores a call that policy allowed and decides the action. Updates the level; observe() adds the outcome. */
  decide(
    extensionId: string,
    capability: Capability,
    method: string,
    params: Readonly<Record<string, unknown>>,
    now: number,
  ): RiskDecision {
    const s = this.#stateOf(extensionId);
    const signals: RiskSignal[] = callSignals(capability, method, params, this.#cfg.allowlisted, this.#places);
    // Sequence signals.
    let burst = 0;
    let refused = 0;
    let egress = 0;
    for (const o of s.window) {
      if (now - o.ts <= 1000) burst++;
      if (o.refused) refused++;
      if (o.capability === 'http' && o.signals.includes('non_allowlisted_host')) egress++;
    }
    if (burst > 20) signals.push({ code: 'burst_rate', weight: Math.min(0.25, (burst - 20) / 200) });
    if (s.window.length >= 5 && refused / s.window.length >= 0.3)
      signals.push({ code: 'permission_probing', weight: 0.35 * (refused / s.window.length) });
    if (DANGEROUS.has(capability) && !s.seenCapabilities.has(capability) && s.calls >= 10)
      signals.push({ code: 'unseen_dangerous_capability', weight: 0.1 });
    // A send after a secret or credential read, to a destination not allowlisted, within the taint window. A socket's
    // peer is a local process, which no host allowlist covers and which may pass the data on.
    const toAllowlisted =
      capability !== 'net' &&
      signals.every(
        (x) =>
          x.code !== 'non_allowlisted_host' &&
          x.code !== 'network_tool' &&
          x.code !== 'private_network_target' &&
          x.code !== 'metadata_endpoint',
      );
    if (SEND_CAPABILITIES.has(capability) && !toAllowlisted && now - s.lastSensitiveReadTs <= TAINT_MS)
      signals.push({ code: 'read_then_send', weight: 0.5 });
    if (capability === 'http' && egress >= 10) signals.push({ code: 'repeated_egress', weight: 0.1 });
    let score = clamp01(signals.reduce((a, x) => a + x.weight, 0));
    // Sequential test (CUSUM with reset at 0): many calls in the harden band escalate even if none alone is high.
    const high = score >= BANDS[this.#cfg.profile][0];
    s.cusum = Math.max(0, s.cusum + (high ? Math.log(0.45 / 0.1) : Math.log(0.55 / 0.9)));
    if (s.cusum >= this.#threshold) {
      signals.push({ code: 'sustained_risk', weight: 0.2 });
      score = clamp01(score + 0.2);
    }
    const raw = stepLevel(this.#cfg.profile, s, score, this.#cfg.cooldownCalls, this.#cfg.deEscalationMargin);
    const codes = signals
      .filter((x) => x.weight > 0)
      .sort((a, b) => b.weight - a.weight || (a.code < b.code ? -1 : 1))
      .map((x) => x.code);
    return {
      score: round3(score),
      rawAction: ACTIONS[raw] as RiskAction,
      action: ACTIONS[s.level] as RiskAction,
      signals,
      reasonCodes: codes,
    };
  }

  /** Every call's outcome, allowed or not (policy denials too): the window the sequence signals read. */
  observe(extensionId: string, o: CallObservation): void {
    const s = this.#stateOf(extensionId);
    if (s.window.length < this.#cfg.windowSize) s.window.push(o);
    else {
      s.window[s.next] = o;
      s.next = (s.next + 1) % this.#cfg.windowSize;
    }
    s.calls++;
    if (o.capability !== null) s.seenCapabilities.add(o.capability);
    s.seenMethods.add(o.method);
    if (o.signals.some((c) => SENSITIVE_READS.has(c))) s.lastSensitiveReadTs = o.ts;
  }

  /** Forget an extension's state (after an operator lifts its quarantine). */
  reset(extensionId: string): void {
    this.#state.delete(extensionId);
  }

  levelOf(extensionId: string): RiskAction {
    return ACTIONS[this.#state.get(extensionId)?.level ?? 0] as RiskAction;
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 1;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
