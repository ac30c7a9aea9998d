/** A disk named on the command line: an id or uuid as given, a path made absolute (the coordinator's cwd is not ours). */
import * as path from 'node:path';

export function diskSpec(disk: string): string {
  return /^\d+$/.test(disk) || !disk.includes('/') ? disk : path.resolve(disk);
}
