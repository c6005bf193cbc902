/** The value of one sample of a Prometheus exposition text (`name{labels}` exactly as printed), or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Scrapes until `series` satisfies `ok` (polling, generous overall timeout); returns the last text. */
export async function scrapeUntil(
  scrape: () => Promise<string>,
  series: string,
  ok: (value: number | undefined) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await scrape();
    if (ok(sample(text, series))) return text;
    if (Date.now() > deadline) throw new Error(`${series} = ${sample(text, series)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
