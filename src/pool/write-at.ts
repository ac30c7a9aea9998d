/** A positional write of a whole buffer into an open file: backups copy extents into packs and restore files with it. */
import * as fs from 'node:fs';

/** Write all of `data` at `offset` of the open file `fd` (on the thread pool; a short write is continued). */
export function writeAt(fd: number, data: Uint8Array, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= data.length) return resolve();
      fs.write(fd, data, done, data.length - done, offset + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}
