/**
 * Checks on an operation's arguments. Over the socket they come from another process,
 * so every field is checked at run time before use, whatever its declared type; a bad
 * one is EINVAL naming the field, never a TypeError deep inside the engine.
 */
import * as path from 'node:path';
import { DfsError } from '../errors';

function field<A extends object>(a: A, name: keyof A & string): unknown {
  return (a as Record<string, unknown>)[name];
}

function bad(op: string, name: string, want: string): DfsError {
  return new DfsError('EINVAL', `${op}: argument "${name}" must be ${want}`);
}

export function str<A extends object>(op: string, a: A, name: keyof A & string): string {
  const v = field(a, name);
  if (typeof v !== 'string') throw bad(op, name, 'a string');
  return v;
}

/** A string, or undefined when absent (null counts as absent). */
export function optStr<A extends object>(op: string, a: A, name: keyof A & string): string | undefined {
  const v = field(a, name);
  return v === undefined || v === null ? undefined : str(op, a, name);
}

/** A boolean flag; absent means false. */
export function bool<A extends object>(op: string, a: A, name: keyof A & string): boolean {
  const v = field(a, name) ?? false;
  if (typeof v !== 'boolean') throw bad(op, name, 'true or false');
  return v;
}

export function num<A extends object>(op: string, a: A, name: keyof A & string, min = 0): number {
  const v = field(a, name);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw bad(op, name, `a number, ${min} or more`);
  return v;
}

/** A local path for the process running the operation: absolute (or `-` where stdio is allowed). */
export function localPath<A extends object>(op: string, a: A, name: keyof A & string, dashAllowed = false): string {
  const v = str(op, a, name);
  if (dashAllowed && v === '-') return v;
  if (!path.isAbsolute(v)) throw bad(op, name, 'an absolute path (the caller resolves relative paths)');
  return v;
}
