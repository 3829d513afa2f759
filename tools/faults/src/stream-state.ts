import { writeFile } from 'node:fs/promises';
import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * Writes what a stream that did not drain looks like, to tell a client that stopped pulling from a consumer that
 * withholds messages: the stream's state and the messages left (sequence, subject), each consumer's state as its
 * leader reports it, and, on a cluster, as every server's `/jsz` reports it (a replica's own view).
 */
export async function dumpStreamState(options: {
  jsm: JetStreamManager;
  stream: string;
  monitorUrls: readonly string[];
  file: string;
}): Promise<void> {
  const { jsm, stream, monitorUrls, file } = options;
  const settled = <T>(p: Promise<T>) =>
    p.then(
      (value) => value,
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    );
  const info = await settled(jsm.streams.info(stream));
  const left: { seq: number; subject: string }[] = [];
  if (!('error' in info)) {
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && left.length < 200; seq += 1) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message) left.push({ seq, subject: message.subject });
    }
  }
  const consumers: unknown[] = [];
  for await (const consumer of jsm.consumers.list(stream)) consumers.push(consumer);
  const servers = await Promise.all(
    monitorUrls.map(async (url) =>
      settled(
        fetch(`${url}/jsz?accounts=true&streams=true&consumers=true&config=true`)
          .then((r) => r.json() as Promise<JszAnswer>)
          .then((jsz) => ({
            server: jsz.server_name,
            meta: jsz.meta_cluster,
            stream: jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === stream),
          })),
      ),
    ),
  );
  await writeFile(
    file,
    JSON.stringify({ at: new Date().toISOString(), info, left, consumers, servers }, null, 2),
  );
}

interface JszAnswer {
  server_name: string;
  meta_cluster?: unknown;
  account_details?: { stream_detail?: { name: string }[] }[];
}
