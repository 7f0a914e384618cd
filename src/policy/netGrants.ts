/**
 * What a `net` grant names (ADR 0038): the Unix sockets and loopback TCP ports one extension may connect to, from
 * `extensionPolicy.overrides.<id>.net` in the user settings. The capability alone reaches Unix sockets inside the
 * project and the extension's data folder; anything else must be listed here. TCP is loopback only by construction:
 * a grant names ports, never hosts. Mediation (src/mediation/net) reads this, `policy explain` and `policy diff`
 * print it.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface NetGrant {
  /** Socket paths beyond the project and the data folder, absolute (`~` expanded). */
  readonly unix: readonly string[];
  /** Loopback TCP port ranges, inclusive. */
  readonly tcpPorts: ReadonlyArray<readonly [number, number]>;
  /** The listening end must belong to a process the extension started (Linux); false only when the user says so. */
  readonly ownerCheck: boolean;
}

/** The grant of an extension with `net` and no `net` settings: project and data-folder sockets, owner-checked. */
export const NO_NET_GRANT: NetGrant = Object.freeze({ unix: [], tcpPorts: [], ownerCheck: true });

/** A port entry of the settings: `5007` or `"6000-6010"`. Undefined when it is not one. */
export function parsePortRange(entry: unknown): readonly [number, number] | undefined {
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (typeof entry === 'number') return valid(entry) ? [entry, entry] : undefined;
  if (typeof entry !== 'string') return undefined;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(entry);
  if (m === null) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return valid(lo) && valid(hi) && lo <= hi ? [lo, hi] : undefined;
}

/** The settings' `net` object as a grant; entries the schema and `netSettingsProblems` refuse never get here. */
export function netGrantFrom(
  raw: { unix?: readonly string[]; tcpPorts?: ReadonlyArray<number | string>; ownerCheck?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): NetGrant {
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  const expand = (p: string) => resolve(p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  return {
    unix: (raw.unix ?? []).map(expand),
    tcpPorts: (raw.tcpPorts ?? []).flatMap((e) => {
      const r = parsePortRange(e);
      return r === undefined ? [] : [r];
    }),
    ownerCheck: raw.ownerCheck !== false,
  };
}

/** Port entries the schema lets through but that are no range (`"9-3"`, `"70000"`): errors naming the key. */
export function netSettingsProblems(settings: unknown): Array<{ key: string; expected: string; actual: string }> {
  const overrides = (settings as { extensionPolicy?: { overrides?: unknown } } | null)?.extensionPolicy?.overrides;
  if (overrides === null || typeof overrides !== 'object') return [];
  const out: Array<{ key: string; expected: string; actual: string }> = [];
  for (const [id, o] of Object.entries(overrides as Record<string, unknown>)) {
    const ports = (o as { net?: { tcpPorts?: unknown } } | null)?.net?.tcpPorts;
    if (!Array.isArray(ports)) continue;
    ports.forEach((entry, i) => {
      if ((typeof entry === 'number' || typeof entry === 'string') && parsePortRange(entry) === undefined)
        out.push({
          key: `extensionPolicy.overrides.${id}.net.tcpPorts[${i}]`,
          expected: 'a port 1-65535 or a range "low-high" of them with low ≤ high',
          actual: JSON.stringify(entry),
        });
    });
  }
  return out;
}

/** The grant as `policy explain` prints it. */
export function explainNetGrant(g: NetGrant): { unix: readonly string[]; tcp_ports: readonly string[]; owner_check: boolean } {
  return { unix: g.unix, tcp_ports: g.tcpPorts.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)), owner_check: g.ownerCheck };
}
