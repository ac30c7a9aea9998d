/** DISK/dynamicfs.label: which pool a disk belongs to and its own identity, sealed with BLAKE3. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromOsCode } from '../errors';
import { openJson, sealJson, writeFileDurable } from './durable-file';

/** The label's own layout version (unchanged by the pool format: features.ts). */
export const LABEL_FORMAT = 1;

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

/** What a disk's label says about it: ok, missing (gone or not mounted), foreign (another disk or pool), unreadable. */
export type LabelStatus = 'ok' | 'missing' | 'foreign' | 'unreadable';

/** Judge a disk's label against the registry's identity for it: the one check probe and monitor share. */
export async function labelStatus(read: () => Promise<DiskLabel | undefined>, poolUuid: string, diskUuid: string): Promise<LabelStatus> {
  let label: DiskLabel | undefined;
  try {
    label = await read();
  } catch (err) {
    // A path component that is no longer a directory: the disk's directory is gone.
    return (err as { code?: string }).code === 'ENOTDIR' ? 'missing' : 'unreadable';
  }
  if (!label) return 'missing';
  return label.poolUuid === poolUuid && label.diskUuid === diskUuid ? 'ok' : 'foreign';
}
