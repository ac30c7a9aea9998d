/**
 * One call, two transports. `invoke(pool, op, args)` sends the request to the pool's
 * coordinator when one answers on POOL/run/admin.sock, and otherwise opens the pool in
 * this process (openEngine takes the lock) and runs the same function from ops/.
 * Either way the caller gets the same data, or a DfsError with the same code.
 *
 * ops/ and the engine are required only for a local run; the transport itself needs
 * nothing but net and msgpackr.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { DfsError, toDfsError } from '../errors';
import {
  asReply, encodeFrame, errorFromReply, FrameReader, MAX_REPLY_BYTES,
  type CoordinatorInfo, type ShutdownArgs,
} from '../rpc/frame';
import { runFiles, socketAddress } from '../rpc/run-files';
import type { Engine } from '../engine/engine';
import { localIdentity } from '../log/audit';
import type { OpContext } from './context';
import type { OpArgs, OpName, OpResult } from './ops';

/** Requests and replies of the coordinator's own operations. */
interface ControlOps {
  ping: { args: Record<string, never>; result: CoordinatorInfo };
  shutdown: { args: ShutdownArgs; result: CoordinatorInfo };
}

/** One connection to a coordinator; many requests may be in flight on it. */
export class AdminConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: DfsError): void }>();
  private closedBy: DfsError | undefined;

  private constructor(private readonly socket: net.Socket, readonly socketPath: string) {
    const reader = new FrameReader(MAX_REPLY_BYTES);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          if (!frame.ok) throw frame.error;
          const reply = asReply(frame.value);
          const waiter = reply.id === null ? undefined : this.pending.get(reply.id);
          if (!waiter) throw new DfsError('EPROTO', reply.ok ? 'coordinator replied to a request that was never sent' : errorFromReply(reply.error).message);
          this.pending.delete(reply.id!);
          if (reply.ok) waiter.resolve(reply.data);
          else waiter.reject(errorFromReply(reply.error));
        }
      } catch (err) {
        this.fail(toDfsError(err));
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(new DfsError('ECOORDINATOR', `admin socket ${socketPath}: ${err.message}`, socketPath)));
    socket.on('close', () => this.fail(new DfsError('ECOORDINATOR',
      `the coordinator closed its admin socket ${socketPath} before answering (it may have stopped or crashed; see coordinator.log next to it)`, socketPath)));
  }

  /**
   * Connect to the coordinator listening on `socketPath`. Undefined when none does: no
   * socket file, or a stale one that refuses connections (its coordinator died).
   */
  static async connect(socketPath: string): Promise<AdminConnection | undefined> {
    let addr: ReturnType<typeof socketAddress>;
    try {
      addr = socketAddress(socketPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // no run directory: no coordinator
      throw toDfsError(err);
    }
    try {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(addr.address);
        s.once('connect', () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      return new AdminConnection(socket, socketPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No socket (or no pool directory at all: the local open reports that properly), or a dead coordinator's.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ECONNREFUSED') return undefined;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new DfsError('EACCES', `cannot connect to the coordinator's admin socket ${socketPath}: permission denied; run as the user that started it`, socketPath);
      }
      throw new DfsError('ECOORDINATOR', `cannot connect to the admin socket ${socketPath}: ${(err as Error).message}`, socketPath);
    } finally {
      addr.close();
    }
  }

  call<K extends OpName>(op: K, args: OpArgs<K>, reqId?: string): Promise<OpResult<K>>;
  call<K extends keyof ControlOps>(op: K, args: ControlOps[K]['args']): Promise<ControlOps[K]['result']>;
  call(op: string, args: object, reqId?: string): Promise<unknown> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // `caller` is who we are, for the coordinator's audit log (it checks the pid's uid in /proc).
      // `reqId`, when the caller chose one, names the request in the coordinator's logs, audit and events.
      this.socket.write(encodeFrame({ id, op, args, caller: localIdentity(), ...(reqId === undefined ? {} : { reqId }) }));
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  private fail(err: DfsError): void {
    this.closedBy ??= err;
    for (const w of this.pending.values()) w.reject(this.closedBy);
    this.pending.clear();
  }
}

/** Who serves the pool, if a coordinator answers on its socket within `timeoutMs`. */
export function ping(poolDir: string, timeoutMs = 5000): Promise<CoordinatorInfo | undefined> {
  return pingSocket(runFiles(poolDir).socket, timeoutMs);
}

/**
 * The coordinator listening on `socketPath`: undefined when nobody listens; ETIMEDOUT
 * when something accepts the connection but does not answer ping in time.
 */
export async function pingSocket(socketPath: string, timeoutMs = 5000): Promise<CoordinatorInfo | undefined> {
  const conn = await AdminConnection.connect(socketPath);
  if (!conn) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      conn.call('ping', {}),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DfsError('ETIMEDOUT', `something accepts connections on ${socketPath} but did not answer ping within ${timeoutMs} ms`, socketPath)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

/** Ask the pool's coordinator to flush, unmount and stop; undefined when none answers. */
export async function requestShutdown(poolDir: string, args: ShutdownArgs): Promise<CoordinatorInfo | undefined> {
  const conn = await AdminConnection.connect(runFiles(poolDir).socket);
  if (!conn) return undefined;
  try {
    return await conn.call('shutdown', args);
  } finally {
    conn.close();
  }
}

export interface InvokeOptions {
  /** Only a local run gets this: the caller's stdio and progress display. */
  local?: OpContext;
  /**
   * Set when the request needs `local` (it streams the caller's stdin or stdout): with a
   * coordinator running, fail with EPOOLSERVED and this advice instead of sending it.
   */
  localOnly?: string;
  /**
   * The request id (`--request-id`): sent to the coordinator, or, run here, given to the
   * operation (a job it starts keeps it) and the audit entry.
   */
  reqId?: string;
}

/** Run admin operation `op` on the pool at `poolDir`, through its coordinator if one runs. */
export async function invoke<K extends OpName>(poolDir: string, op: K, args: OpArgs<K>, opts: InvokeOptions = {}): Promise<OpResult<K>> {
  const remote = await viaCoordinator(poolDir, op, args, opts);
  if (remote.answered) return remote.result;
  const { adminOps } = require('./ops') as typeof import('./ops');
  const { openEngine } = require('../engine/open') as typeof import('../engine/open');
  const { ADMIN_JOB_KINDS } = require('./job-kinds') as typeof import('./job-kinds');
  let engine: Engine;
  try {
    engine = openEngine(poolDir, undefined, undefined, ADMIN_JOB_KINDS);
  } catch (err) {
    // A coordinator may have taken the pool between our look at the socket and now.
    if (err instanceof DfsError && err.code === 'EPOOLBUSY') {
      const again = await viaCoordinator(poolDir, op, args, opts);
      if (again.answered) return again.result;
    }
    throw err;
  }
  const { auditLocal, auditSettings } = require('./audit') as typeof import('./audit');
  // audit.lookups as the op left it; a store that cannot say must not hide the op's own error.
  const lookupsAudited = (e: Engine): boolean => {
    try {
      return auditSettings(e.meta).lookups;
    } catch {
      return false;
    }
  };
  const started = Date.now();
  // A local run names its request as a coordinator would: the job it starts and the events it causes carry the id.
  const reqId = opts.reqId ?? randomBytes(6).toString('hex');
  try {
    const { replayLeftIntentLog } = require('../fs/log-replay') as typeof import('../fs/log-replay');
    const replayed = await replayLeftIntentLog(engine);
    if (replayed) auditLocal(engine.pool.dir, 'replay-intent-log', { ...replayed }, started);
    const fn = adminOps[op] as unknown as (e: Engine, a: OpArgs<K>, c: OpContext) => Promise<OpResult<K>>;
    const result = await fn(engine, args, { ...opts.local, reqId });
    auditLocal(engine.pool.dir, op, args as Record<string, unknown>, started, undefined, reqId, lookupsAudited(engine));
    return result;
  } catch (err) {
    auditLocal(engine.pool.dir, op, args as Record<string, unknown>, started, err, reqId, lookupsAudited(engine));
    throw err;
  } finally {
    await engine.close();
  }
}

async function viaCoordinator<K extends OpName>(poolDir: string, op: K, args: OpArgs<K>, opts: InvokeOptions):
  Promise<{ answered: true; result: OpResult<K> } | { answered: false }> {
  const conn = await AdminConnection.connect(runFiles(poolDir).socket);
  if (!conn) return { answered: false };
  try {
    if (opts.localOnly !== undefined) {
      const who = await conn.call('ping', {});
      const where = who.mountpoint ? `, mounted at ${who.mountpoint}` : '';
      throw new DfsError('EPOOLSERVED', `pool ${who.pool} is served by its coordinator (PID ${who.pid}${where}); ${opts.localOnly}`,
        poolDir, { pid: who.pid, mountpoint: who.mountpoint });
    }
    return { answered: true, result: await conn.call(op, args, opts.reqId) };
  } finally {
    conn.close();
  }
}
