/**
 * Who may do what over the coordinator's admin socket. Root and the coordinator's own
 * user (the pool's owner) may do everything; members of the pool's `admin.monitorGroup`
 * (by primary or supplementary group) may run what only looks at the pool — exactly the
 * operations the audit log leaves out unless audit.lookups (audit.ts); anyone else nothing. The peer's
 * identity is the kernel's (SO_PEERCRED), never what a client declares.
 */
import * as fs from 'node:fs';
import { sectionDefaults } from '../config/settings';
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import type { MetaStore } from '../meta/store';
import { onlyLooks, UNAUDITED_OPS, AUDITED_WITH, DRY_RUN_LOOKS } from './audit';

export interface AdminSettings {
  /** A group id whose members may run read-only commands over the socket; null: none. */
  monitorGroup: number | null;
}

export const DEFAULT_ADMIN = sectionDefaults('admin') as unknown as AdminSettings;

/** The pool's access settings (admin.*, declared in config/settings.ts). */
export function adminSettings(meta: MetaStore): AdminSettings {
  return sectionSettings<AdminSettings>(meta, 'admin');
}

/** The process at the other end of the socket, as the kernel names it. */
export interface Peer {
  pid: number;
  uid: number;
  gid: number;
}

export type Role = 'admin' | 'monitor' | 'none';

/** The supplementary groups of a running process (empty when it is gone). */
export function processGroups(pid: number): number[] {
  try {
    const line = /^Groups:[ \t]*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? line[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

export function roleOf(peer: Peer, owner: number, settings: AdminSettings, groups: (pid: number) => number[] = processGroups): Role {
  if (peer.uid === 0 || peer.uid === owner) return 'admin';
  const g = settings.monitorGroup;
  if (g !== null && (peer.gid === g || groups(peer.pid).includes(g))) return 'monitor';
  return 'none';
}

/** The read-only commands, for messages. */
export function readOnlyOps(): string[] {
  return [...[...UNAUDITED_OPS].filter((op) => op !== 'ping'),
    ...Object.entries(AUDITED_WITH).map(([op, args]) => `${op} (without ${args.join(' or ')}${DRY_RUN_LOOKS.has(op) ? ', or with dryRun' : ''})`)];
}

/** EACCES unless `peer` may run `op` with `args`; undefined peer: the kernel could not say who it is. */
export function authorize(peer: Peer | undefined, op: string, args: Record<string, unknown>, owner: number, settings: AdminSettings): void {
  const role = peer ? roleOf(peer, owner, settings) : 'none';
  if (role === 'admin' || (role === 'monitor' && onlyLooks(op, args))) return;
  const who = peer ? `uid ${peer.uid} (PID ${peer.pid})` : 'a peer the kernel could not name';
  if (role === 'monitor') {
    throw new DfsError('EACCES', `${op}: ${who} is in the monitoring group ${settings.monitorGroup} (admin.monitorGroup), which may run read-only commands only: ${readOnlyOps().join(', ')}; run ${op} as root or uid ${owner}`);
  }
  const group = settings.monitorGroup === null ? '' : `, and members of group ${settings.monitorGroup} read-only`;
  throw new DfsError('EACCES', `${op}: ${who} may not use this pool's admin socket; only root and uid ${owner} (the coordinator's user) may${group}: run the command as one of them`);
}
