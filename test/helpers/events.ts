/**
 * Helpers for the event history's tests: a rotation size small enough to cross without
 * writing megabytes (DYNAMICFS_EVENTS_MAX_BYTES, read by log/events.ts in every CLI and
 * coordinator process these tests start), and an RFC 4180 reader to check the CSV
 * export against.
 */

/** Run fn with the events file rotating past `bytes` in the processes it starts; restored after. */
export async function withEventRotation<T>(bytes: number, fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.DYNAMICFS_EVENTS_MAX_BYTES;
  process.env.DYNAMICFS_EVENTS_MAX_BYTES = String(bytes);
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.DYNAMICFS_EVENTS_MAX_BYTES;
    else process.env.DYNAMICFS_EVENTS_MAX_BYTES = before;
  }
}

/**
 * Parse CSV strictly as RFC 4180 says: records end in CRLF (the last may not); a field
 * is either plain (no comma, quote, CR or LF) or enclosed in double quotes, with a
 * quote inside written twice. Anything else throws, naming the offset.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  const fail = (why: string): never => { throw new Error(`not RFC 4180 CSV at offset ${i}: ${why}`); };
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) fail('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') fail('a quote inside an unquoted field');
          field += text[i++];
        }
      }
      record.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (i >= text.length) break;
      if (text[i] === '\r' && text[i + 1] === '\n') {
        i += 2;
        break;
      }
      fail(`expected a comma or CRLF, found ${JSON.stringify(text[i])}`);
    }
    records.push(record);
  }
  return records;
}
