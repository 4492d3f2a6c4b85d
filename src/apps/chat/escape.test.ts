import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeControls } from './escape.js';

describe('escapeControls', () => {
  it('shows ESC as ^[ and other C0 controls, DEL and C1 as \\xNN', () => {
    assert.equal(escapeControls('a\u001b[2Jb'), 'a^[[2Jb');
    assert.equal(escapeControls('\u0007\t\r\n\u007f\u009b'), '\\x07\\x09\\x0d\\x0a\\x7f\\x9b');
  });

  it('escapes bidi overrides and leaves printable text and emoji alone', () => {
    assert.equal(escapeControls('abc\u202edef'), 'abc\\u202edef');
    assert.equal(escapeControls('héllo wörld 🎉 ~!'), 'héllo wörld 🎉 ~!');
  });

  it('leaves no control character in any output', () => {
    let all = '';
    for (let code = 0; code < 0x3000; code++) all += String.fromCharCode(code);
    assert.doesNotMatch(escapeControls(all), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
