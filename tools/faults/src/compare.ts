import type { CallRecord, Final, RunRecord } from './collect.js';

export interface Check {
  name: string;
  passed: boolean;
  /** What differs, one line per finding (empty when passed). */
  findings: string[];
}

/** Start and end of a final may move this much between runs (the bar). */
export const FINAL_TOLERANCE_MS = 100;
const SPEAKERS = ['agent', 'technician'] as const;
const SOURCES = ['live', 'recording'] as const;

const check = (name: string, findings: string[]): Check => ({
  name,
  passed: findings.length === 0,
  findings,
});
const short = (callSid: string) => `${callSid.slice(0, 10)}…`;

/** The reference run is the yardstick: it must hold everything a call produces, or no comparison means much. */
export function referenceComplete(reference: RunRecord, framesSent: Map<string, FramesSent>): Check {
  const findings: string[] = [];
  for (const call of reference.calls.values()) {
    const sid = short(call.callSid);
    const lost = framesMissing(call, framesSent.get(call.callSid));
    if (lost > 0) findings.push(`${sid}: ${lost} frame(s) sent but not stored`);
    if (call.streamWavs.size !== 4) findings.push(`${sid}: ${call.streamWavs.size} stream WAVs (want 4)`);
    if (call.recordingRows.filter((r) => r.status === 'stored').length !== 1)
      findings.push(`${sid}: recording not stored`);
    for (const speaker of SPEAKERS)
      for (const source of SOURCES)
        if (!call.finals.some((f) => f.speaker === speaker && f.source === source))
          findings.push(`${sid}: no ${source} final for ${speaker}`);
  }
  return check(
    'reference run complete (every frame sent stored, 4 stream WAVs, a stored recording, live and recording finals per call)',
    findings,
  );
}

export type FramesSent = Record<'inbound' | 'outbound', number>;
/** The default TRACK_SPEAKERS. */
const SPEAKER_OF_TRACK = { inbound: 'agent', outbound: 'technician' } as const;

/** Frames the simulator sent for the call that its stored stream audio does not hold. */
export function framesMissing(call: CallRecord, sent: FramesSent | undefined): number {
  if (!sent) return 0;
  return (Object.keys(SPEAKER_OF_TRACK) as Array<keyof FramesSent>).reduce(
    (sum, track) => sum + Math.max(0, sent[track] - (call.framesStored.get(SPEAKER_OF_TRACK[track]) ?? 0)),
    0,
  );
}

export function compareRuns(reference: RunRecord, faulted: RunRecord): Check[] {
  const pairs = [...reference.calls.values()].map((ref) => [ref, faulted.calls.get(ref.callSid)!] as const);
  return [
    check(
      'stream WAVs bit-exact per call and speaker',
      pairs.flatMap(([ref, got]) => wavFindings(ref, got)),
    ),
    check(
      'recordings stored once (one row, 3 objects, one stored event) and bit-exact',
      pairs.flatMap(([ref, got]) => recordingFindings(ref, got)),
    ),
    check(
      'stream audio stored once (one audio-stored event per call)',
      pairs
        .filter(([, got]) => got.audioStoredEvents !== 1)
        .map(([, got]) => `${short(got.callSid)}: ${got.audioStoredEvents} audio-stored events`),
    ),
    check(
      `finals equal to the reference (count, start/end within ${FINAL_TOLERANCE_MS} ms) per call, speaker and source`,
      pairs.flatMap(([ref, got]) => finalFindings(ref, got)),
    ),
    check('no duplicate events (Nats-Msg-Id) in the CALLS, RECORDINGS and TRANSCRIPTS streams', [
      ...faulted.duplicateIds.map((d) => `${d.stream}: ${d.msgId} stored ${d.count} times`),
      ...pairs.flatMap(([, got]) => duplicateSegments(got)),
    ]),
    check(
      'final sequences unique and ordered by start per call, speaker and source',
      pairs.flatMap(([, got]) => sequenceFindings(got)),
    ),
  ];
}

function wavFindings(ref: CallRecord, got: CallRecord): string[] {
  const findings: string[] = [];
  for (const [name, sha] of ref.streamWavs) {
    const other = got.streamWavs.get(name);
    if (other === undefined) findings.push(`${short(got.callSid)} ${name}: missing`);
    else if (other !== sha) {
      const speaker = name.split('-')[0]!;
      findings.push(
        `${short(got.callSid)} ${name}: differs (frames stored ${got.framesStored.get(speaker) ?? 0}, reference ${ref.framesStored.get(speaker) ?? 0})`,
      );
    }
  }
  for (const name of got.streamWavs.keys())
    if (!ref.streamWavs.has(name)) findings.push(`${short(got.callSid)} ${name}: not in the reference`);
  return findings;
}

function recordingFindings(ref: CallRecord, got: CallRecord): string[] {
  const sid = short(got.callSid);
  const findings: string[] = [];
  const stored = got.recordingRows.filter((r) => r.status === 'stored');
  if (got.recordingRows.length !== 1 || stored.length !== 1)
    findings.push(
      `${sid}: recording rows ${JSON.stringify(got.recordingRows.map((r) => r.status))} (want one stored)`,
    );
  for (const row of stored)
    if (row.objects !== 3) findings.push(`${sid}: ${row.objects} object rows (want 3)`);
  if (got.recordingObjectCount !== 3)
    findings.push(`${sid}: ${got.recordingObjectCount} objects in S3 (want 3)`);
  if (got.recordingStoredEvents !== 1)
    findings.push(`${sid}: ${got.recordingStoredEvents} recording.stored events`);
  for (const [name, sha] of ref.recordingObjects)
    if (got.recordingObjects.get(name) !== sha) findings.push(`${sid} recording ${name}: missing or differs`);
  return findings;
}

const key = (f: Final) => `${f.speaker}/${f.source}`;
const byStart = (a: Final, b: Final) => a.startMs - b.startMs || a.endMs - b.endMs;

/** The finals of one call by speaker/source, one per segment (duplicates are reported on their own). */
function finalsBy(call: CallRecord): Map<string, Final[]> {
  const out = new Map<string, Final[]>();
  const seen = new Set<string>();
  for (const f of call.finals) {
    if (seen.has(`${key(f)}/${f.segmentId}`)) continue;
    seen.add(`${key(f)}/${f.segmentId}`);
    out.set(key(f), [...(out.get(key(f)) ?? []), f]);
  }
  for (const list of out.values()) list.sort(byStart);
  return out;
}

function finalFindings(ref: CallRecord, got: CallRecord): string[] {
  const sid = short(got.callSid);
  const findings: string[] = [];
  const want = finalsBy(ref);
  const have = finalsBy(got);
  for (const k of new Set([...want.keys(), ...have.keys()])) {
    const a = want.get(k) ?? [];
    const b = have.get(k) ?? [];
    if (a.length !== b.length) {
      findings.push(`${sid} ${k}: ${b.length} finals, reference ${a.length}${coverage(a, b)}`);
      continue;
    }
    a.forEach((r, i) => {
      const f = b[i]!;
      if (
        Math.abs(r.startMs - f.startMs) > FINAL_TOLERANCE_MS ||
        Math.abs(r.endMs - f.endMs) > FINAL_TOLERANCE_MS
      )
        findings.push(`${sid} ${k} #${i}: ${f.startMs}–${f.endMs} ms, reference ${r.startMs}–${r.endMs} ms`);
    });
  }
  return findings;
}

/** Where two lists of finals disagree: the first reference final without a counterpart within tolerance. */
function coverage(want: Final[], have: Final[]): string {
  const near = (r: Final) =>
    have.some(
      (f) =>
        Math.abs(f.startMs - r.startMs) <= FINAL_TOLERANCE_MS &&
        Math.abs(f.endMs - r.endMs) <= FINAL_TOLERANCE_MS,
    );
  const missing = want.filter((r) => !near(r));
  const extra = have.filter((f) => !want.some((r) => Math.abs(f.startMs - r.startMs) <= FINAL_TOLERANCE_MS));
  const span = (f: Final) => `${f.startMs}–${f.endMs}`;
  return `; unmatched reference [${missing.map(span).join(', ')}], unmatched here [${extra.map(span).join(', ')}]`;
}

function duplicateSegments(call: CallRecord): string[] {
  const counts = new Map<string, number>();
  for (const f of call.finals)
    counts.set(`${key(f)}/${f.segmentId}`, (counts.get(`${key(f)}/${f.segmentId}`) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n > 1)
    .map(([segment, n]) => `${short(call.callSid)} ${segment}: ${n} finals for one segment`);
}

function sequenceFindings(call: CallRecord): string[] {
  const findings: string[] = [];
  for (const [k, finals] of finalsBy(call)) {
    const sequences = finals.map((f) => f.sequence);
    if (
      new Set(sequences).size !== sequences.length ||
      sequences.some((s, i) => i > 0 && s <= sequences[i - 1]!)
    )
      findings.push(`${short(call.callSid)} ${k}: sequences by start ${JSON.stringify(sequences)}`);
  }
  return findings;
}

/** Extra copies across the streams and of final segments: the "duplicates" figure. */
export function duplicateCount(run: RunRecord): number {
  const byId = run.duplicateIds.reduce((sum, d) => sum + d.count - 1, 0);
  let bySegment = 0;
  for (const call of run.calls.values()) {
    // Copies under one Nats-Msg-Id are counted above already.
    const seen = new Set<string>();
    const ids = new Set<string | undefined>();
    for (const f of call.finals) {
      const id = `${key(f)}/${f.segmentId}`;
      if (seen.has(id) && !ids.has(f.msgId)) bySegment += 1;
      seen.add(id);
      ids.add(f.msgId);
    }
  }
  return byId + bySegment;
}
