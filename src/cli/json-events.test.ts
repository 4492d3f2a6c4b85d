import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { EVENT_SCHEMA, EventOutput, validateEvent } from './json-events.js';

const base = { v: 1, ts: '2026-11-29T12:00:00.000Z' };
const peer = { address: '127.0.0.1', port: 40000, family: 'IPv4' };

function collect(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += String(chunk);
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('validateEvent', () => {
  it('accepts events with their required and optional fields', () => {
    assert.deepEqual(validateEvent({ ...base, event: 'connected', peer }), []);
    assert.deepEqual(validateEvent({ ...base, event: 'closed', peer, reason: 'quit', messagesIn: 2, bytesIn: 10 }), []);
    assert.deepEqual(validateEvent({ ...base, event: 'exit', pid: 12, code: null, signal: 'SIGTERM', killed: true }), []);
  });

  it('rejects a wrong version, a bad timestamp, an unknown event, a missing or mistyped field and an unknown field', () => {
    assert.match(validateEvent({ ...base, v: 2, event: 'connected', peer }).join(), /v is 2/);
    assert.match(validateEvent({ ...base, ts: 'yesterday', event: 'connected', peer }).join(), /ts/);
    assert.match(validateEvent({ ...base, event: 'teleported' }).join(), /unknown event/);
    assert.match(validateEvent({ ...base, event: 'connected' }).join(), /missing peer/);
    assert.match(validateEvent({ ...base, event: 'connected', peer: { ...peer, port: '1' } }).join(), /peer is not endpoint/);
    assert.match(validateEvent({ ...base, event: 'connected', peer, colour: 'red' }).join(), /unknown field colour/);
    assert.match(validateEvent([1]).join(), /not a JSON object/);
  });

  it('every schema entry names who emits it and has typed fields', () => {
    for (const [name, schema] of Object.entries(EVENT_SCHEMA)) {
      assert.ok(schema.from.length > 0, name);
      assert.ok(Object.keys(schema.required).length > 0, `${name} has required fields`);
    }
  });
});

describe('EventOutput', () => {
  it('with --json: JSON lines on stdout, the human text on stderr; an abstract name shows as @name', async () => {
    const stdout = collect();
    const stderr = collect();
    const out = new EventOutput({ stdin: process.stdin, stdout: stdout.stream, stderr: stderr.stream, signal: new AbortController().signal }, true);
    out.event('connected', { peer: { address: '\0sock', port: 0, family: 'unix' }, id: undefined }, 'someone connected');
    out.say('hello');
    assert.equal(stdout.text(), '', 'nothing is written before the end of the event-loop turn');
    await out.close();
    const line = JSON.parse(stdout.text()) as Record<string, unknown>;
    assert.deepEqual(validateEvent(line), []);
    assert.deepEqual(line.peer, { address: '@sock', port: 0, family: 'unix' });
    assert.equal(stderr.text(), 'someone connected\nhello\n');
  });

  it('without --json: the human text on stdout only', async () => {
    const stdout = collect();
    const stderr = collect();
    const out = new EventOutput({ stdin: process.stdin, stdout: stdout.stream, stderr: stderr.stream, signal: new AbortController().signal }, false);
    out.event('connected', { peer }, 'someone connected');
    out.event('exec', { pid: 1, command: 'cat' });
    await out.close();
    assert.equal(stdout.text(), 'someone connected\n');
    assert.equal(stderr.text(), '');
  });
});
