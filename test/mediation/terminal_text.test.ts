/**
 * Text an extension has pi show carries no terminal control: each kind of sequence a terminal acts on is removed
 * whole (so nothing it carries, an OSC 52 clipboard payload or an OSC 8 link target, is shown either), and the text
 * around it, line feeds and tabs are kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripTerminalControls } from '../../src/mediation/index.ts';

const ESC = '\u001b';
const BEL = '\u0007';
const ST = `${ESC}\\`;

const CASES: ReadonlyArray<readonly [string, string, string]> = [
  ['OSC 52 clipboard write, BEL-terminated', `a${ESC}]52;c;ZWNobyBwd25lZA==${BEL}b`, 'ab'],
  ['OSC 52 clipboard write, ST-terminated', `a${ESC}]52;c;ZWNobyBwd25lZA==${ST}b`, 'ab'],
  ['OSC 8 hyperlink (target dropped, text kept)', `${ESC}]8;;https://evil.example/${ST}click${ESC}]8;;${ST}`, 'click'],
  ['OSC 0 window title', `${ESC}]0;owned${BEL}x`, 'x'],
  ['CSI cursor and erase', `keep${ESC}[2K${ESC}[1A${ESC}[31mred${ESC}[0m`, 'keepred'],
  ['CSI private mode (bracketed paste off)', `${ESC}[?2004lx`, 'x'],
  ['DCS (terminal query)', `a${ESC}P+q544e${ST}b`, 'ab'],
  ['APC', `a${ESC}_Gf=100;AAAA${ST}b`, 'ab'],
  ['PM', `a${ESC}^private${ST}b`, 'ab'],
  ['SOS', `a${ESC}Xstring${ST}b`, 'ab'],
  ['two-character escapes (RIS, charset)', `a${ESC}cb${ESC}(0c`, 'abc'],
  ['8-bit CSI', `a\u009b2Jb`, 'ab'],
  ['8-bit OSC 52 ended by 8-bit ST', `a\u009d52;c;AAAA\u009cb`, 'ab'],
  ['other C1 controls', `a\u0085\u008d\u0084\u0080b`, 'ab'],
  ['BEL, CR, backspace, DEL and other C0', `a${BEL}\r\b\u0000\u000b\u000c\u007fb`, 'ab'],
  ['an unterminated OSC swallows the rest', `safe${ESC}]52;c;AAAA and more`, 'safe'],
  ['a lone ESC at the end', `x${ESC}`, 'x'],
  ['line feeds and tabs are text', 'one\n\ttwo', 'one\n\ttwo'],
  ['unicode text is untouched', 'naïve — 日本語 ✓', 'naïve — 日本語 ✓'],
];

describe('stripTerminalControls', () => {
  for (const [what, input, expected] of CASES)
    it(what, () => {
      assert.equal(stripTerminalControls(input), expected);
    });

  it('text without controls is returned as it is', () => {
    const s = 'plain text';
    assert.equal(stripTerminalControls(s), s);
  });
});
