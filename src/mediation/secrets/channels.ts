/**
 * What the outbound secret scan reads of a call: the strings the channel table (SPEC §5.2, policy/channels.ts) says
 * it sends out, each with the label secret broker log entries and alerts name it by (`http.headers.authorization`,
 * `exec.args[2]`, `pi.setSessionName.name`). One table, so a channel pi-warden knows is a channel it scans.
 */
import { sentStrings } from '../../policy/index.ts';
import { forTerminal } from '../terminal.ts';

/**
 * The strings as sent, and for what reaches the terminal also as shown there: the host strips terminal control
 * before pi sees the text, so a value split by control characters (`sk-ab\x07cd...`) is whole again on screen and
 * must be whole for the scan too.
 */
export function outboundStrings(method: string, params: Readonly<Record<string, unknown>>): Array<[string, string]> {
  const sent = sentStrings(method, params).map((s): [string, string] => [s.label, s.text]);
  const shown = forTerminal(method, params);
  if (shown === params) return sent;
  const seen = new Set(sent.map(([label, text]) => `${label}\u0000${text}`));
  for (const s of sentStrings(method, shown)) if (!seen.has(`${s.label}\u0000${s.text}`)) sent.push([`${s.label}(as shown)`, s.text]);
  return sent;
}
