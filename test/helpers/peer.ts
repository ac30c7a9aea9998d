/** A client of the admin socket running as another user (uid NOBODY), for the access-control tests. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { encodeFrame, FrameReader, MAX_REPLY_BYTES } from '../../src/rpc/frame';

export const NOBODY = 65534;

/**
 * Send one request frame over `socket` from a process running as uid NOBODY with primary
 * group `gid` and supplementary `groups` (setpriv sets them), with only Node's built-ins
 * (the checkout may not be readable by that user); returns the reply frame's value, or
 * the connect error's code.
 */
export function requestAsNobody(socket: string, request: unknown, gid = NOBODY, groups: number[] = []): unknown {
  const script = `
    const net = require('net');
    const c = net.connect(process.env.SOCK, () => c.write(Buffer.from(process.env.FRAME, 'hex')));
    const got = [];
    c.on('data', (d) => { got.push(d); c.end(); });
    c.on('error', (e) => { process.stdout.write(JSON.stringify({ connectError: e.code })); process.exit(0); });
    c.on('close', () => process.stdout.write(JSON.stringify({ reply: Buffer.concat(got).toString('hex') })));`;
  const ids = [`--reuid=${NOBODY}`, `--regid=${gid}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups'];
  const r = spawnSync('setpriv', [...ids, process.execPath, '-e', script], {
    cwd: '/', encoding: 'utf8', timeout: 30_000,
    env: { SOCK: socket, FRAME: encodeFrame(request).toString('hex'), PATH: process.env.PATH ?? '' },
  });
  assert.equal(r.status, 0, `the client as uid ${NOBODY} ran: ${r.error?.message ?? ''} ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { connectError?: string; reply?: string };
  if (out.connectError) return { connectError: out.connectError };
  const frames = new FrameReader(MAX_REPLY_BYTES).push(Buffer.from(out.reply!, 'hex'));
  assert.equal(frames.length, 1, 'one reply frame');
  assert.ok(frames[0]!.ok);
  return frames[0]!.value;
}
