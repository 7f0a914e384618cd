/**
 * What the outbound secret scan reads of a call: the strings the channel table (SPEC §5.2, policy/channels.ts) says
 * it sends out, each with the label secret broker log entries and alerts name it by (`http.headers.authorization`,
 * `exec.args[2]`, `pi.setSessionName.name`). One table, so a channel pi-warden knows is a channel it scans.
 */
import { sentStrings } from '../../policy/index.ts';

export function outboundStrings(method: string, params: Readonly<Record<string, unknown>>): Array<[string, string]> {
  return sentStrings(method, params).map((s): [string, string] => [s.label, s.text]);
}
