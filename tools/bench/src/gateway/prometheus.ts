/** Reads Prometheus text exposition into name{labels} → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** Sum of every series of a metric whose labels include all of `labels`. */
export function sum(values: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const [series, value] of values) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (wanted.every((label) => series.includes(label))) total += value;
  }
  return total;
}

/** Quantile from the difference of two histogram scrapes, interpolated linearly inside the bucket. */
export function histogramQuantile(
  before: Map<string, number>,
  after: Map<string, number>,
  name: string,
  q: number,
): number {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [series, value] of after) {
    const match = series.match(new RegExp(`^${name}_bucket\\{.*le="([^"]+)"`));
    if (!match) continue;
    buckets.push({
      le: match[1] === '+Inf' ? Infinity : Number(match[1]),
      count: value - (before.get(series) ?? 0),
    });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const target = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= target) {
      if (bucket.le === Infinity) return previous.le;
      const share = (target - previous.count) / Math.max(1, bucket.count - previous.count);
      return previous.le + share * (bucket.le - previous.le);
    }
    previous = bucket;
  }
  return NaN;
}
