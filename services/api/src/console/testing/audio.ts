import { pcm16leBytes, wavHeader } from '@calltx/audio';

/** `seconds` of a tone at 8 kHz, speaking in the given second-long windows and silent otherwise. */
export function tone(seconds: number, hz: number, speaksIn: (second: number) => boolean): Int16Array {
  const pcm = new Int16Array(seconds * 8000);
  for (let i = 0; i < pcm.length; i++) {
    if (speaksIn(Math.floor(i / 8000))) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  }
  return pcm;
}

/** A 16-bit PCM WAV file of one or two channels. */
export function wavFile(channels: Int16Array[], sampleRate = 8000): Buffer {
  const frames = channels[0]!.length;
  const interleaved = new Int16Array(frames * channels.length);
  for (let i = 0; i < frames; i++)
    for (const [c, channel] of channels.entries()) interleaved[i * channels.length + c] = channel[i]!;
  const data = pcm16leBytes(interleaved);
  return Buffer.concat([
    wavHeader({ sampleRate, channels: channels.length, bitsPerSample: 16, dataBytes: data.length }),
    data,
  ]);
}
