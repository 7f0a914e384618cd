/**
 * What a sandboxed component may put on pi's screen (issue 23 item 3): SGR styling is kept, every other terminal
 * control is taken out, lines are cut to the width pi gives; pi's theme crosses as its escape codes per token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripTerminalControls } from '../../src/mediation/index.ts';
import { fitLine, themeData } from '../../src/pi/components/index.ts';

const ESC = '\u001b';

describe('component lines as pi draws them', () => {
  it("'styling' keeps SGR colour and attributes and drops OSC 52, titles, links, cursor moves, DCS and APC", () => {
    const line = `${ESC}]52;c;cHduZWQ=\u0007${ESC}]0;title\u0007${ESC}]8;;https://x.test\u0007link${ESC}]8;;\u0007${ESC}[2J${ESC}[10;1H${ESC}P+q\u001b\\${ESC}_pi:c\u0007${ESC}[1;38;5;196mred${ESC}[0m ${ESC}[38:2::1:2:3mtrue${ESC}[39m`;
    assert.equal(stripTerminalControls(line, 'styling'), `link${ESC}[1;38;5;196mred${ESC}[0m ${ESC}[38:2::1:2:3mtrue${ESC}[39m`);
    // the default keeps no escape at all
    assert.equal(stripTerminalControls(line), 'linkred true');
  });

  it("'styling' drops a CSI that only looks like SGR (private marker, intermediate byte) and an unterminated one", () => {
    assert.equal(stripTerminalControls(`a${ESC}[?25lb${ESC}[1 mc${ESC}[31`, 'styling'), 'abc');
  });

  it('fitLine cuts to the width, escapes not counted, and flattens tabs and line breaks', () => {
    assert.equal(stripTerminalControls(fitLine(`${ESC}[31mabcdef${ESC}[39m`, 4)), 'abcd');
    assert.equal(fitLine('a\tb\nc', 20), 'a   b c');
    assert.equal(fitLine('short', 80), 'short');
  });

  it("themeData reads pi's colour tokens as their escape codes and drops a code that is not SGR", () => {
    const fgAnsi = new Map([
      ['accent', `${ESC}[38;5;39m`],
      ['evil', `${ESC}]52;c;eA==\u0007`],
    ]);
    const theme = { name: 'dark', fgAnsi, bgAnsi: new Map([['customMessageBg', `${ESC}[48;5;236m`]]) };
    Object.assign(theme, { getFgAnsi: (c: string) => fgAnsi.get(c), getBgAnsi: (c: string) => theme.bgAnsi.get(c) });
    assert.deepEqual(themeData(theme), { name: 'dark', fg: { accent: `${ESC}[38;5;39m` }, bg: { customMessageBg: `${ESC}[48;5;236m` } });
  });
});
