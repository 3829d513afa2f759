import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { consumerMetrics } from '@calltx/nats';

export type TranscriberMetrics = ReturnType<typeof createTranscriberMetrics>;

export function createTranscriberMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumers: consumerMetrics(registry),
    consumerPending: new Gauge({
      name: 'calltx_transcriber_consumer_pending',
      help: 'Messages waiting on the server for a durable consumer (num_pending): the lag the autoscaler watches on transcriber-final.',
      labelNames: ['consumer'] as const,
      registers,
    }),
    consumerAckPending: new Gauge({
      name: 'calltx_transcriber_consumer_ack_pending',
      help: 'Messages delivered to replicas and not yet acknowledged, per durable consumer.',
      labelNames: ['consumer'] as const,
      registers,
    }),
    strandedMessages: new Counter({
      name: 'calltx_transcriber_stranded_messages_total',
      help: 'Messages a work queue held that its consumer would not deliver, by what was done: requeued, dropped (partials), dead-lettered; leader-stepped-down counts consumer leaders asked to hand over.',
      labelNames: ['consumer', 'outcome'] as const,
      registers,
    }),
    modelReady: new Gauge({
      name: 'calltx_transcriber_model_ready',
      help: '1 once the Whisper model is loaded and the consumers run; 0 while it is missing or corrupt.',
      registers,
    }),
    inferenceSeconds: new Histogram({
      name: 'calltx_transcriber_inference_seconds',
      help: 'Whisper time per utterance (log-mel, encoder and decoding), by kind (partial, final, recording).',
      labelNames: ['kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers,
    }),
    stageSeconds: new Histogram({
      name: 'calltx_transcriber_stage_seconds',
      help: "Where a live utterance's time goes, by kind (partial, final) and stage: delivery (end of the audio to this replica holding a final), queue (waiting for a work slot), log-mel, encoder, decoder (generation), word-timing.",
      labelNames: ['kind', 'stage'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers,
    }),
    audioSeconds: new Counter({
      name: 'calltx_transcriber_audio_seconds_total',
      help: 'Seconds of audio transcribed, by kind; against inference seconds it gives the real-time factor.',
      labelNames: ['kind'] as const,
      registers,
    }),
    callSettingsDefaulted: new Counter({
      name: 'calltx_transcriber_call_settings_defaulted_total',
      help: "Utterances or calls transcribed with the default language or hints instead of the call's own: start-unseen (per utterance: its call.started had not arrived), language-unusable or hints-unusable (per call: the model cannot serve them).",
      labelNames: ['reason'] as const,
      registers,
    }),
    partialsDropped: new Counter({
      name: 'calltx_transcriber_partials_dropped_total',
      help: 'Partials acknowledged without publishing: stale (older than PARTIAL_MAX_AGE_MS) or superseded (a newer partial or the final was seen).',
      labelNames: ['reason'] as const,
      registers,
    }),
    partialsPublished: new Counter({
      name: 'calltx_transcriber_partials_published_total',
      help: 'Partial transcripts published.',
      registers,
    }),
    finalsPublished: new Counter({
      name: 'calltx_transcriber_finals_published_total',
      help: 'Final transcripts published, by source (live, recording); redeliveries that republish a stored final count again.',
      labelNames: ['source'] as const,
      registers,
    }),
    reissuedFinals: new Counter({
      name: 'calltx_transcriber_reissued_finals_total',
      help: "Live finals reissued by the live-finals audit that were already transcribed, by outcome: present (TRANSCRIPTS held a copy by then: it was late, not lost), published (under the segment's own id), republished (under the reissue's id: lost after its acknowledgement).",
      labelNames: ['outcome'] as const,
      registers,
    }),
    latencySeconds: new Histogram({
      name: 'calltx_transcriber_latency_seconds',
      help: 'Time from the end of an utterance audio (as received by the gateway) to its transcript event being stored by JetStream, by kind (live only).',
      labelNames: ['kind'] as const,
      buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
      registers,
    }),
  };
}
