/**
 * The logical redo log: each committed generation is the ordered list of TxnWrites calls
 * made in it, [method, args, clock, threw], msgpack-encoded one after another. Recording
 * wraps a store's writes; replaying the list onto the store as it was before the
 * generation (a checkpoint, or the generations before) makes the same rows, because every
 * write is deterministic given the store, its arguments and the clock (clock.ts), and
 * return values (allocIno, allocPackSeq, row ids) follow from replaying in order.
 */
import { Packr } from 'msgpackr';
import { DfsError } from '../errors';
import { atClock, now } from './clock';
import type { MetaStore, TxnWrites } from './store';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** One recorded write. `threw`: it threw when made (replay expects, and swallows, the same). */
export type RedoCall = [method: string, args: unknown[], clockMs: number, threw: boolean];

/** Records the calls of the open Txn and of the open group's released savepoints. */
export class RedoRecorder {
  private groupCalls: Buffer[] = [];
  private txnCalls: Buffer[] = [];

  /** `writes` with every call recorded, made with the clock pinned to the time recorded. */
  wrap(writes: TxnWrites): TxnWrites {
    const out: Record<string, unknown> = {};
    for (const [name, write] of Object.entries(writes) as [string, (...args: unknown[]) => unknown][]) {
      out[name] = (...args: unknown[]) => {
        const ms = now();
        // Encoded now: a caller may change an argument object after the call.
        const index = this.txnCalls.push(packr.pack([name, args, ms, false] satisfies RedoCall)) - 1;
        try {
          return atClock(ms, () => write(...args));
        } catch (err) {
          this.txnCalls[index] = packr.pack([name, args, ms, true] satisfies RedoCall);
          throw err;
        }
      };
    }
    return out as unknown as TxnWrites;
  }

  /** The open Txn committed (or released its savepoint): its calls join the generation. */
  txnCommitted(): void {
    for (const c of this.txnCalls) this.groupCalls.push(c);
    this.txnCalls = [];
  }

  /** The open Txn aborted: its calls never happened. */
  txnAborted(): void {
    this.txnCalls = [];
  }

  /** The whole group rolled back (SQLite dropped the transaction). */
  groupAborted(): void {
    this.groupCalls = [];
    this.txnCalls = [];
  }

  /** The committed generation's payload; the recorder starts empty again. */
  take(): Buffer {
    const payload = Buffer.concat(this.groupCalls);
    this.groupCalls = [];
    return payload;
  }
}

/** The calls of a payload, checked to name TxnWrites methods. */
export function decodeCalls(payload: Buffer): RedoCall[] {
  let calls: unknown[];
  try {
    calls = payload.length === 0 ? [] : (packr.unpackMultiple(payload) as unknown[]);
  } catch (err) {
    // Sealed records come from a DynamicFS; bytes that are not msgpack are its bug or damage the seal missed.
    throw new DfsError('EFORMAT', `metadata log record: the payload is not msgpack (${(err as Error).message})`);
  }
  return calls.map((c, i) => {
    if (!Array.isArray(c) || c.length !== 4 || typeof c[0] !== 'string' || !Array.isArray(c[1]) || typeof c[2] !== 'number') {
      throw new DfsError('EFORMAT', `metadata log record: call ${i} is not [method, args, clock, threw]`);
    }
    return c as RedoCall;
  });
}

/** Apply one generation's calls onto `store` (not grouping) as one transaction; returns the generation it commits as. */
export function replayGeneration(store: MetaStore, payload: Buffer): number {
  const calls = decodeCalls(payload);
  const tx = store.begin();
  try {
    for (const [method, args, clockMs, threw] of calls) {
      const write = (tx as unknown as Record<string, unknown>)[method];
      if (typeof write !== 'function' || method === 'commit' || method === 'abort') {
        throw new DfsError('EFORMAT', `metadata log record names no metadata write "${method}"`);
      }
      try {
        atClock(clockMs, () => (write as (...a: unknown[]) => unknown).apply(tx, args));
      } catch (err) {
        if (!threw) throw err;
      }
    }
    return tx.commit();
  } catch (err) {
    tx.abort();
    throw err;
  }
}

