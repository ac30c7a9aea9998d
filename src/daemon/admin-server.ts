/**
 * The coordinator's admin socket: a Unix socket at POOL/run/admin.sock speaking the
 * frames of rpc/frame.ts. Every request runs as soon as it arrives (many at once, from
 * one or many connections); its reply carries its id. Nothing a peer sends can crash
 * the coordinator: a frame that is not msgpack, or not a request, gets an error reply;
 * a frame too large to be a request gets one and the connection is closed (its framing
 * can no longer be trusted).
 *
 * Who may ask: the kernel says who connected (SO_PEERCRED, read once per connection),
 * and admin/access.ts what they may do (root and the coordinator's user everything, the
 * pool's monitoring group read-only commands); a refusal is EACCES, logged and audited.
 * The socket file is created 0600 (under a umask, so there is no moment with wider
 * permissions), 0660 with the monitoring group's gid when there is one, and the run
 * directory 0700 (0750 with that group); connections and the requests in flight on one
 * connection are bounded.
 *
 * The socket is not the guard on the pool, the pool lock is: the coordinator holds it
 * before it binds. A socket file left by a coordinator that died refuses connections
 * and is replaced; one where someone still answers means another process serves this
 * pool, and we refuse to start (EPOOLBUSY).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { authorize, DEFAULT_ADMIN, roleOf, type AdminSettings } from '../admin/access';
import { isAudited, summarizeArgs } from '../admin/audit';
import { pingSocket } from '../admin/client';
import { DfsError, toDfsError } from '../errors';
import { peerCredentials, type PeerCredentials } from '../native';
import type { AuditEntry, AuditLog, Identity } from '../log/audit';
import type { Metrics } from '../metrics/metrics';
import { asRequest, encodeFrame, FrameReader, MAX_REQUEST_BYTES, requestId, type CoordinatorInfo, type Reply, type Request } from '../rpc/frame';
import { socketAddress } from '../rpc/run-files';

/** What the server hands the handler with each request. */
export interface AdminRequest {
  /** This request's id: in its log lines, its audit entry, and the log lines of the work it starts. */
  reqId: string;
  /** A child of the server's logger carrying reqId and op. */
  log: Logger;
}

export interface AdminServerOptions {
  socketPath: string;
  log: Logger;
  /** Run one request (an admin operation or a control operation) and return its data. */
  handle(op: string, args: Record<string, unknown>, req: AdminRequest): Promise<unknown>;
  /** Where to record every audited action (admin/audit.ts says which are). */
  audit?: AuditLog;
  /** Counts requests (dynamicfs_admin_requests_total). */
  metrics?: Metrics;
  /** The pool's access settings (read at each request; applyAccess() after a change). */
  access?: () => AdminSettings;
  /** The pool's audit.lookups (read at each request, so a change applies at once): audit read-only requests too. */
  auditLookups?: () => boolean;
}

/** The coordinator's user: with root, the only one allowed everything. */
const OWNER = process.geteuid?.() ?? 0;

/** Connections served at once; Node closes any more as soon as they are accepted. */
export const MAX_CONNECTIONS = 64;
/** Requests one connection may have running; one more gets EBUSY (the CLI sends one at a time). */
export const MAX_IN_FLIGHT = 32;

export class AdminServer {
  private readonly connections = new Set<net.Socket>();
  private readonly inFlight = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  private constructor(private readonly server: net.Server, private readonly opts: AdminServerOptions) {
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (err) => opts.log.error({ err }, 'admin socket error'));
  }

  /** Bind the socket, replacing a stale one; EPOOLBUSY if another process answers on it. */
  static async listen(opts: AdminServerOptions): Promise<AdminServer> {
    await removeStaleSocket(opts.socketPath, opts.log);
    const server = net.createServer();
    server.maxConnections = MAX_CONNECTIONS;
    const addr = socketAddress(opts.socketPath);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // listen() binds synchronously: the socket file is born 0600, never wider.
        const umask = process.umask(0o177);
        try {
          server.listen(addr.address, () => {
            server.removeListener('error', reject);
            resolve();
          });
        } finally {
          process.umask(umask);
        }
      });
    } catch (err) {
      throw new DfsError('ECOORDINATOR', `cannot listen on the admin socket ${opts.socketPath}: ${(err as Error).message}`, opts.socketPath);
    } finally {
      addr.close();
    }
    const s = new AdminServer(server, opts);
    s.applyAccess();
    opts.log.info({ socket: opts.socketPath }, 'admin socket listening');
    return s;
  }

  /**
   * The socket file's mode and group from the access settings: 0600 (the owner and root),
   * or 0660 with the monitoring group as its group so that its members can connect.
   */
  applyAccess(): void {
    let g = (this.opts.access?.() ?? DEFAULT_ADMIN).monitorGroup;
    const dir = path.dirname(this.opts.socketPath);
    const give = (group: number): void => {
      fs.chownSync(this.opts.socketPath, -1, group);
      fs.chownSync(dir, -1, group);
    };
    try {
      give(g ?? process.getegid?.() ?? 0);
    } catch (err) {
      // Not root and not in the group (set while another user ran the coordinator): members cannot connect; nothing else changes.
      this.opts.log.warn({ monitorGroup: g, err: toDfsError(err).message }, 'cannot give the admin socket to admin.monitorGroup; only root and the owner can use it');
      g = null;
      give(process.getegid?.() ?? 0);
    }
    fs.chmodSync(this.opts.socketPath, g === null ? 0o600 : 0o660);
    // The run directory (socket, logs, pid file): its owner's, searchable by the group only to reach the socket.
    fs.chmodSync(dir, g === null ? 0o700 : 0o750);
  }

  /**
   * Stop accepting connections, let the requests already running finish and send their
   * replies, close every connection and remove the socket file. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      for (const s of this.connections) s.end();
      // A peer that never closes its side must not hold the coordinator up.
      const linger = setTimeout(() => { for (const s of this.connections) s.destroy(); }, 2000);
      await stopped.catch(() => undefined);
      clearTimeout(linger);
      fs.rmSync(this.opts.socketPath, { force: true });
      this.opts.log.info({ socket: this.opts.socketPath }, 'admin socket closed');
    })();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    this.connections.add(socket);
    const peer = credentialsOf(socket);
    if (!peer) this.opts.log.warn('admin connection: the kernel did not say who connected; its requests are refused');
    const running = { n: 0 };
    const reader = new FrameReader(MAX_REQUEST_BYTES);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', (err) => this.opts.log.debug({ err }, 'admin connection error'));
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.opts.log.warn({ err: toDfsError(err).message }, 'admin connection dropped: bad framing');
        send(socket, { id: null, ok: false, error: toDfsError(err).toJSON() });
        socket.end();
        socket.pause();
        return;
      }
      for (const frame of frames) {
        if (!frame.ok) {
          send(socket, { id: null, ok: false, error: frame.error.toJSON() });
          continue;
        }
        this.dispatch(socket, frame.value, peer, running);
      }
    });
  }

  private dispatch(socket: net.Socket, value: unknown, peer: PeerCredentials | undefined, running: { n: number }): void {
    running.n++;
    const job = (async () => {
      let id: number | null = requestId(value);
      let reply: Reply;
      const started = Date.now();
      let reqId = randomBytes(6).toString('hex');
      let op = '?';
      let req: Request | undefined;
      try {
        req = asRequest(value);
        id = req.id;
        reqId = req.reqId ?? reqId;
        op = req.op;
        if (this.closing) throw new DfsError('ECOORDINATOR', 'the coordinator is stopping; try again once it has (the CLI then opens the pool itself)');
        authorize(peer, op, req.args, OWNER, this.opts.access?.() ?? DEFAULT_ADMIN);
        if (running.n > MAX_IN_FLIGHT) {
          throw new DfsError('EBUSY', `${MAX_IN_FLIGHT} requests are already running on this connection; wait for their replies, or open another connection`);
        }
        reply = { id, ok: true, data: await this.opts.handle(req.op, req.args, { reqId, log: this.opts.log.child({ reqId, op }) }) };
      } catch (err) {
        reply = { id, ok: false, error: toDfsError(err).toJSON() };
      }
      const ms = Date.now() - started;
      const result = reply.ok ? 'ok' : String(reply.error.code);
      const level = op === 'ping' ? 'debug' : 'info';
      this.opts.log[level]({ reqId, op, ms, ...(reply.ok ? {} : { error: reply.error.code }) }, 'admin request');
      this.opts.metrics?.adminRequests.inc({ op: /^[a-z][a-z0-9-]{0,39}$/.test(op) ? op : 'other', result });
      const refused = !reply.ok && reply.error.code === 'EACCES' && (!peer || roleOf(peer, OWNER, this.opts.access?.() ?? DEFAULT_ADMIN) !== 'admin');
      if (refused) this.opts.log.warn({ reqId, op, peer }, 'admin request refused: the peer may not use this socket');
      if (req && this.opts.audit && (refused || isAudited(op, req.args, this.opts.auditLookups?.() ?? false))) {
        this.opts.audit.record({ via: 'socket', who: peerIdentity(req.caller, peer), op, args: summarizeArgs(req.args), result,
          ...(reply.ok ? {} : { error: String(reply.error.message) }), ms, reqId });
      }
      send(socket, reply);
    })();
    this.inFlight.add(job);
    void job.finally(() => {
      running.n--;
      this.inFlight.delete(job);
    });
  }
}

/** The connecting process as the kernel recorded it; undefined where it cannot say. */
function credentialsOf(socket: net.Socket): PeerCredentials | undefined {
  // A Unix socket's libuv handle carries its descriptor; Node exposes no other way to it.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return peerCredentials(fd);
  } catch {
    return undefined;
  }
}

/**
 * Who sent a request: the kernel's pid, uid and gid of the peer (verified), named with
 * the user name its client declared when the declared uid is the kernel's. Without the
 * kernel's word, as the client declared it, checked against /proc: verified when the
 * declared pid exists and runs with the declared uid (real or effective).
 */
function peerIdentity(caller: Identity | undefined, peer: PeerCredentials | undefined): AuditEntry['who'] {
  if (peer) {
    const user = caller && caller.uid === peer.uid ? caller.user : `uid ${peer.uid}`;
    return { user, uid: peer.uid, gid: peer.gid, pid: peer.pid, verified: true };
  }
  if (!caller) return { user: 'unknown', uid: -1, gid: -1, pid: -1, verified: false };
  let verified = false;
  try {
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${caller.pid}/status`, 'utf8'));
    verified = !!uids && (Number(uids[1]) === caller.uid || Number(uids[2]) === caller.uid);
  } catch {
    // the process is gone (or /proc is not there): unverified
  }
  return { ...caller, verified };
}

/** Write one reply; a reply that cannot be encoded becomes an error reply. */
function send(socket: net.Socket, reply: Reply): void {
  if (socket.destroyed || !socket.writable) return;
  let frame: Buffer;
  try {
    frame = encodeFrame(reply);
  } catch (err) {
    frame = encodeFrame({ id: reply.id, ok: false, error: new DfsError('EINTERNAL', `reply could not be encoded: ${(err as Error).message}`).toJSON() });
  }
  socket.write(frame);
}

async function removeStaleSocket(socketPath: string, log: Logger): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new DfsError('EEXIST', `${socketPath} exists and is not a socket; remove it, then start the coordinator again`, socketPath);
  }
  let who: CoordinatorInfo | undefined;
  try {
    who = await pingSocket(socketPath, 5000);
  } catch (err) {
    // Something accepted the connection: it is alive, whatever it answered.
    throw new DfsError('EPOOLBUSY', `a process answers on ${socketPath} (${toDfsError(err).message}); stop it before starting a coordinator`, socketPath);
  }
  if (who) {
    throw new DfsError('EPOOLBUSY', `another coordinator (PID ${who.pid}) answers on ${socketPath}; stop it before starting this one`, socketPath, { pid: who.pid });
  }
  log.warn({ socket: socketPath }, 'removing a stale admin socket (its coordinator is gone)');
  fs.rmSync(socketPath, { force: true });
}
