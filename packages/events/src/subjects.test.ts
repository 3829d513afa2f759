import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from './errors.js';
import { Subjects } from './subjects.js';

const CALL = 'CA0123456789abcdef0123456789abcdef';

describe('Subjects', () => {
  const subjects = new Subjects();

  it('builds the documented public families', () => {
    expect(subjects.call(CALL, 'started')).toBe(`calls.v1.${CALL}.started`);
    expect(subjects.call(CALL, 'stream-stopped')).toBe(`calls.v1.${CALL}.stream-stopped`);
    expect(subjects.media(CALL, 'inbound')).toBe(`media.v1.${CALL}.inbound`);
    expect(subjects.media(CALL, 'both')).toBe(`media.v1.${CALL}.both`);
    expect(subjects.recording(CALL, 'in-progress')).toBe(`recordings.v1.${CALL}.in-progress`);
    expect(subjects.transcript(CALL, 'technician', 'final')).toBe(`transcripts.v1.${CALL}.technician.final`);
    expect(subjects.audio(CALL, 'agent', 'partial')).toBe(`audio.v1.${CALL}.agent.partial`);
    expect(subjects.allAudio('final')).toBe('audio.v1.*.*.final');
    expect(subjects.allCalls('ended')).toBe('calls.v1.*.ended');
    expect(subjects.callTranscripts(CALL, 'final')).toBe(`transcripts.v1.${CALL}.*.final`);
    expect(() => subjects.callTranscripts('*', 'final')).toThrow();
    expect(() => subjects.allCalls('>' as 'ended')).toThrow(/call event/);
    expect(subjects.transcribe(CALL, 'technician')).toBe(`transcribe.v1.${CALL}.technician`);
    expect(subjects.deadLetter(CALL, 'calls')).toBe(`deadletter.v1.${CALL}.calls`);
    expect(subjects.all('deadletter')).toBe('deadletter.v1.>');
    expect(subjects.streamName('deadletter')).toBe('DEADLETTER');
  });

  it('dead letters name their source family, never themselves', () => {
    expect(subjects.parse(subjects.deadLetter(CALL, 'audio'))).toEqual({
      family: 'deadletter',
      callSid: CALL,
      source: 'audio',
    });
    expect(() => subjects.deadLetter(CALL, 'deadletter' as never)).toThrow(InvalidMessageError);
    expect(subjects.parse(`deadletter.v1.${CALL}.deadletter`)).toBeNull();
    expect(subjects.parse(`deadletter.v1.${CALL}.calls.x`)).toBeNull();
  });

  it('builds the internal parties family, below the call wildcard, and parses only that', () => {
    expect(subjects.parties(CALL)).toBe(`parties.v1.${CALL}.given`);
    expect(subjects.all('parties')).toBe('parties.v1.>');
    expect(subjects.all('parties', CALL)).toBe(`parties.v1.${CALL}.>`);
    expect(subjects.streamName('parties')).toBe('PARTIES');
    expect(new Subjects('t1').parties(CALL)).toBe(`t1.parties.v1.${CALL}.given`);
    expect(() => subjects.parties('CA12.>')).toThrow(InvalidMessageError);
    expect(subjects.parse(subjects.parties(CALL))).toEqual({ family: 'parties', callSid: CALL });
    expect(subjects.parse(`parties.v1.${CALL}`)).toBeNull();
    expect(subjects.parse(`parties.v1.${CALL}.other`)).toBeNull();
    expect(subjects.parse(`parties.v1.${CALL}.given.x`)).toBeNull();
    expect(subjects.parse(subjects.deadLetter(CALL, 'parties'))).toEqual({
      family: 'deadletter',
      callSid: CALL,
      source: 'parties',
    });
  });

  it('builds wildcards and stream names', () => {
    expect(subjects.all('media')).toBe('media.v1.>');
    expect(subjects.all('transcripts', CALL)).toBe(`transcripts.v1.${CALL}.>`);
    expect(subjects.streamName('recordings')).toBe('RECORDINGS');
  });

  it('namespaces subjects and streams with a prefix', () => {
    const scoped = new Subjects('t123');
    expect(scoped.media(CALL, 'outbound')).toBe(`t123.media.v1.${CALL}.outbound`);
    expect(scoped.all('calls')).toBe('t123.calls.v1.>');
    expect(scoped.streamName('calls')).toBe('t123_CALLS');
    expect(scoped.parse(`t123.media.v1.${CALL}.outbound`)).toEqual({
      family: 'media',
      callSid: CALL,
      track: 'outbound',
    });
    expect(scoped.parse(`media.v1.${CALL}.outbound`)).toBeNull();
    expect(scoped.parse(scoped.media(CALL, 'both'))).toEqual({
      family: 'media',
      callSid: CALL,
      track: 'both',
    });
  });

  it.each([
    ['a dot', `${CALL}.x`],
    ['a wildcard', '*'],
    ['a tail wildcard', '>'],
    ['a short sid', 'CA123'],
    ['a wrong prefix', 'RE0123456789abcdef0123456789abcdef'],
  ])('refuses a CallSid with %s', (_, sid) => {
    expect(() => subjects.call(sid, 'started')).toThrow(InvalidMessageError);
  });

  it('refuses unknown tracks, events, statuses and malformed speakers', () => {
    expect(() => subjects.media(CALL, 'mixed' as never)).toThrow(InvalidMessageError);
    expect(subjects.parse(`media.v1.${CALL}.mixed`)).toBeNull();
    expect(() => subjects.call(CALL, 'exploded' as never)).toThrow(InvalidMessageError);
    expect(() => subjects.recording(CALL, 'deleted' as never)).toThrow(InvalidMessageError);
    expect(() => subjects.transcript(CALL, 'Agent.x', 'final')).toThrow(InvalidMessageError);
    expect(() => new Subjects('a.b')).toThrow(InvalidMessageError);
  });

  it('parses what it builds and rejects the rest', () => {
    expect(subjects.parse(subjects.call(CALL, 'ended'))).toEqual({
      family: 'calls',
      callSid: CALL,
      event: 'ended',
    });
    expect(subjects.parse(subjects.recording(CALL, 'stored'))).toEqual({
      family: 'recordings',
      callSid: CALL,
      status: 'stored',
    });
    expect(subjects.parse(subjects.transcript(CALL, 'agent', 'partial'))).toEqual({
      family: 'transcripts',
      callSid: CALL,
      speaker: 'agent',
      kind: 'partial',
    });
    expect(subjects.parse(subjects.audio(CALL, 'technician', 'final'))).toEqual({
      family: 'audio',
      callSid: CALL,
      speaker: 'technician',
      kind: 'final',
    });
    expect(subjects.parse(subjects.transcribe(CALL, 'agent'))).toEqual({
      family: 'transcribe',
      callSid: CALL,
      speaker: 'agent',
    });
    expect(subjects.parse(`media.v2.${CALL}.inbound`)).toBeNull();
    expect(subjects.parse(`media.v1.${CALL}.sideways`)).toBeNull();
    expect(subjects.parse(`media.v1.${CALL}.inbound.extra`)).toBeNull();
    expect(subjects.parse(`calls.v1.CAnot.started`)).toBeNull();
    expect(subjects.parse('nonsense')).toBeNull();
  });
});
