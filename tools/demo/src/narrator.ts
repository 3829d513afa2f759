import type { NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@calltx/events';

export interface Observed {
  subjects: string[];
  finals: number;
  partials: number;
}

const clock = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;

/** Prints the public events of the demo call as they happen, in words. */
export function narrate(nc: NatsConnection, subjects: Subjects, callSid: () => string | undefined): Observed {
  const observed: Observed = { subjects: [], finals: 0, partials: 0 };
  const say = (line: string) => console.log(`\x1b[1m  ▶ ${line}\x1b[0m`);
  for (const family of ['calls', 'recordings', 'transcripts'] as const) {
    nc.subscribe(subjects.all(family), {
      callback: (error, msg) => {
        if (error) return;
        const parsed = subjects.parse(msg.subject);
        if (!parsed || (callSid() && parsed.callSid !== callSid())) return;
        observed.subjects.push(msg.subject);
        const event = msg.json<Record<string, unknown>>();
        switch (event.type) {
          case 'call.started.v1':
            return say(`call ${parsed.callSid} started: the agent is dialing the technician`);
          case 'call.stream-started.v1':
            return say('live audio stream started (both tracks)');
          case 'call.stream-status.v1':
            return say(`Twilio stream status callback: ${String(event.streamEvent)}`);
          case 'call.stream-stopped.v1':
            return say(
              `live audio stream stopped: frames ${JSON.stringify(event.framesReceived)}, lost ${JSON.stringify(event.framesLost)}`,
            );
          case 'call.audio-stored.v1':
            return say(
              `stream audio stored: ${(event.files as Array<{ key: string; bytes: number }>).map((f) => `${f.key} (${f.bytes} B)`).join(', ')}`,
            );
          case 'recording.status.v1':
            return say(`recording ${String(event.recordingSid)}: ${String(event.status)}`);
          case 'recording.stored.v1':
            return say(
              `recording archived: ${(event.objects as Array<{ key: string }>).map((o) => o.key).join(', ')}`,
            );
          case 'transcript.partial.v1':
            observed.partials += 1;
            return;
          case 'transcript.final.v1':
            observed.finals += 1;
            return say(
              `[${clock(event.startMs as number)}] ${String(event.speaker).padEnd(10)} (${String(event.source)}) “${String(event.text)}”`,
            );
          default:
            return say(`${msg.subject}`);
        }
      },
    });
  }
  return observed;
}
