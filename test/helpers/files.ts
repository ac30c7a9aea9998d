/** File writes the tests repeat. */
import * as fs from 'node:fs';

/** Write `data` as the whole of `file` and fsync it before closing (through a mount: durable when this returns). */
export function writeSynced(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
