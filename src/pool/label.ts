/** DISK/dynamicfs.label: which pool a disk belongs to and its own identity, sealed with BLAKE3. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromOsCode } from '../errors';
import { openJson, sealJson, writeFileDurable } from './durable-file';

export interface DiskLabel {
  format: number;
  poolUuid: string;
  diskUuid: string;
  createdMs: number;
}

export const labelPath = (disk: string): string => path.join(disk, 'dynamicfs.label');

export function writeLabel(disk: string, label: DiskLabel): void {
  writeFileDurable(labelPath(disk), sealJson({ format: label.format, poolUuid: label.poolUuid, diskUuid: label.diskUuid, createdMs: label.createdMs }));
}

/** The label, or undefined if the directory carries none. A damaged label is an error. */
export function readLabel(disk: string): DiskLabel | undefined {
  const file = labelPath(disk);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromOsCode((err as NodeJS.ErrnoException).code, `cannot read disk label ${file}: ${(err as Error).message}`, file);
  }
  return openJson(text, 'disk label', file) as unknown as DiskLabel;
}
