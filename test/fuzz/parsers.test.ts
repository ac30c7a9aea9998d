/**
 * Property-based fuzzing (fast-check) of what DynamicFS reads from outside the process:
 * the admin socket's frames and requests, sealed JSON documents (pool.json, disk labels),
 * intent-log records, fragment headers, `config --set`'s validation and `config import`'s files. Each property runs DFS_FUZZ_RUNS cases
 * (default 2000; fewer where a case does file I/O) from one seed: DFS_FUZZ_SEED=<seed>
 * replays a run exactly, and a failure prints the seed and the shrunk counterexample.
 * A longer run: DFS_FUZZ_RUNS=200000 node --test dist/test/fuzz/parsers.test.js
 *
 * What must hold: malformed input is refused with a DfsError of a stable code (never a
 * TypeError, a crash or a hang), and damaged input is never taken for other valid input.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeRecords, encodeRecords, LOG_HEADER_BYTES, uuidBytes, type LogRecord } from '../../src/engine/intent-record';
import { DfsError } from '../../src/errors';
import { blake3, fragRead, fragRelativePath, fragWrite } from '../../src/native';
import { openJson, sealJson } from '../../src/pool/durable-file';
import { asRequest, encodeFrame, FrameReader, MAX_REQUEST_BYTES } from '../../src/rpc/frame';
import { runOp } from '../../src/admin/ops';
import { openEngine } from '../../src/engine/open';
import { silentLogger } from '../../src/log/logger';
import { makePool } from '../helpers/cli';
import { SETTINGS, SETTING_KEYS } from '../../src/config/settings';
import { decodeCalls } from '../../src/meta/redo-log';
import { decodeRecords as decodeMetaRecords, encodeRecord as encodeMetaRecord, NO_CHAIN, openHead, RECORD_HASH, RECORD_HEADER } from '../../src/pool/meta-format';
import { withTmpDir } from '../helpers/tmp';

const packr = new Packr({ useRecords: false, moreTypes: false });
const RUNS = Number(process.env.DFS_FUZZ_RUNS) || 2000;
const SEED = Number(process.env.DFS_FUZZ_SEED) || Date.now() % 2 ** 31;
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({ seed: SEED, numRuns });
process.stdout.write(`# fuzz seed ${SEED} (DFS_FUZZ_SEED=${SEED} replays it), ${RUNS} runs per property\n`);

/** Throws unless err is a DfsError with one of `codes`. */
function refused(err: unknown, ...codes: string[]): true {
  assert.ok(err instanceof DfsError, `a DfsError, not ${String(err)}`);
  assert.ok(codes.includes(err.code), `code ${err.code}, expected ${codes.join(' or ')}`);
  return true;
}

describe('admin frames and requests', () => {
  it('any values, framed and cut at any points, come back exactly, in order', () => {
    // A "__proto__" key is renamed by the decoder (next test): left out here.
    const value = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
    fc.assert(fc.property(fc.array(value, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (values, cuts) => {
      const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
      const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const reader = new FrameReader(MAX_REQUEST_BYTES);
      const got: unknown[] = [];
      let from = 0;
      for (const to of [...at, stream.length]) {
        for (const f of reader.push(stream.subarray(from, to))) {
          assert.ok(f.ok);
          got.push(f.value);
        }
        from = to;
      }
      assert.equal(reader.pending, 0);
      // msgpack keeps -0 as 0 in JSON's sense; compare as JSON text.
      assert.equal(JSON.stringify(got), JSON.stringify(values));
    }), params());
  });

  it('a "__proto__" key in a frame cannot reach any prototype', () => {
    const [f] = new FrameReader(MAX_REQUEST_BYTES).push(encodeFrame(JSON.parse('{"id":1,"op":"status","args":{"__proto__":{"polluted":1}}}')));
    assert.ok(f!.ok);
    const r = asRequest(f!.value);
    assert.equal(Object.getPrototypeOf(r.args), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((r.args as Record<string, unknown>).polluted, undefined);
  });

  it('arbitrary bytes: frames that decode or fail alone, or EPROTO for a length past the limit; never another error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 700 }), (bytes, max) => {
      const reader = new FrameReader(max);
      try {
        for (const f of reader.push(Buffer.from(bytes))) if (!f.ok) refused(f.error, 'EPROTO');
      } catch (err) {
        refused(err, 'EPROTO');
      }
    }), params());
  });

  it('asRequest takes exactly maps with an integer id, a string op and map args; anything else is EPROTO', () => {
    fc.assert(fc.property(fc.anything({ withMap: true, withSet: true, withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: true }), (v) => {
      try {
        const r = asRequest(v);
        assert.ok(Number.isSafeInteger(r.id) && typeof r.op === 'string' && typeof r.args === 'object' && r.args !== null && !Array.isArray(r.args));
      } catch (err) {
        refused(err, 'EPROTO');
      }
    }), params());
  });
});

describe('sealed JSON documents (pool.json, disk labels)', () => {
  const body = fc.dictionary(fc.string({ maxLength: 12 }).filter((k) => k !== 'checksum'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });

  it('a sealed document opens to exactly its body', () => {
    fc.assert(fc.property(body, (b) => {
      assert.deepEqual(openJson(sealJson(b), 'document', 'f'), JSON.parse(JSON.stringify(b)));
    }), params());
  });

  it('one changed character: refused (EFORMAT) or, where JSON does not care (white space), the same body; never another', () => {
    fc.assert(fc.property(body, fc.nat(), fc.integer({ min: 1, max: 0xffff }), (b, at, delta) => {
      const text = sealJson(b);
      const i = at % text.length;
      const changed = text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) + delta) % 0x10000) + text.slice(i + 1);
      try {
        assert.deepEqual(openJson(changed, 'document', 'f'), JSON.parse(JSON.stringify(b)));
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        refused(err, 'EFORMAT');
      }
    }), params());
  });

  it('any text at all: refused with EFORMAT', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      assert.throws(() => openJson(text, 'document', 'f'), (err) => refused(err, 'EFORMAT'));
    }), params());
  });
});

describe('intent-log records', () => {
  const POOL = uuidBytes('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
  const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const record: fc.Arbitrary<LogRecord> = fc.record({
    generation: u64, seq: u64, ino: u64, offset: u64, size: u64, mtimeMs: fc.double({ noNaN: true }),
    data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), part: fc.nat({ max: 2 ** 32 - 1 }),
    end: fc.boolean(), carry: fc.constant(false), name: fc.boolean(),
  });

  it('records encode and decode to themselves', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 6 }), (rs) => {
      assert.deepEqual(decodeRecords(POOL, encodeRecords(POOL, rs)), rs);
    }), params());
  });

  it('a damaged log decodes to the records before the damage, never to a changed record', () => {
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (rs, at, x) => {
      const log = encodeRecords(POOL, rs);
      const i = at % log.length;
      log[i]! ^= x;
      let end = 0;
      let intact = 0;
      for (const r of rs) {
        end += LOG_HEADER_BYTES + r.data.length + 32;
        if (end > i) break;
        intact++;
      }
      assert.deepEqual(decodeRecords(POOL, log), rs.slice(0, intact));
    }), params());
  });

  it('arbitrary bytes decode to nothing (or to records that verify), without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      for (const r of decodeRecords(POOL, Buffer.from(bytes))) assert.ok(Buffer.isBuffer(r.data));
    }), params());
  });
});

describe('disk metadata log records and heads (DISK/meta)', () => {
  const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const payloads = fc.array(fc.uint8Array({ maxLength: 200 }).map((a): Buffer => Buffer.from(a)), { minLength: 1, maxLength: 6 });
  const first = fc.integer({ min: 1, max: 2 ** 40 });
  /** A chained log of `ps` from generation `g` (its first record carrying NO_CHAIN). */
  const chained = (g: number, ps: Buffer[]): Buffer => {
    let prev: Buffer = NO_CHAIN;
    return Buffer.concat(ps.map((p, i) => {
      const r = encodeMetaRecord(UUID, g + i, prev, p);
      prev = r.subarray(r.length - RECORD_HASH);
      return r;
    }));
  };

  it('a chained log decodes to exactly its records', () => {
    fc.assert(fc.property(first, payloads, (g, ps) => {
      const log = chained(g, ps);
      const { records, end } = decodeMetaRecords(log, UUID, g, NO_CHAIN);
      assert.deepEqual(records.map((r) => [r.generation, r.payload]), ps.map((p, i) => [g + i, p]));
      assert.equal(end, log.length);
    }), params());
  });

  it('one changed byte: the records before it, never a changed one; another pool, generation or anchor: none', () => {
    fc.assert(fc.property(first, payloads, fc.nat(), fc.integer({ min: 1, max: 255 }), (g, ps, at, x) => {
      const log = chained(g, ps);
      const i = at % log.length;
      log[i]! ^= x;
      let end = 0;
      let intact = 0;
      for (const p of ps) {
        end += RECORD_HEADER + p.length + RECORD_HASH;
        if (end > i) break;
        intact++;
      }
      assert.deepEqual(decodeMetaRecords(log, UUID, g, NO_CHAIN).records.map((r) => r.payload), ps.slice(0, intact));
      const whole = chained(g, ps);
      assert.deepEqual(decodeMetaRecords(whole, '11111111-2222-3333-4444-555555555555', g, NO_CHAIN).records, []);
      assert.deepEqual(decodeMetaRecords(whole, UUID, g + 1, NO_CHAIN).records, []);
      assert.deepEqual(decodeMetaRecords(whole, UUID, g, Buffer.alloc(RECORD_HASH, 1)).records, []);
    }), params());
  });

  it('arbitrary bytes decode to no records, without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), first, (bytes, g) => {
      assert.deepEqual(decodeMetaRecords(Buffer.from(bytes), UUID, g, NO_CHAIN), { records: [], end: 0 });
    }), params());
  });

  it('a record payload that is not a list of calls is EFORMAT, never another error', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }).map((vs) => Buffer.concat(vs.map((v) => packr.pack(v))))), (payload) => {
      try {
        for (const c of decodeCalls(payload)) assert.ok(typeof c[0] === 'string' && Array.isArray(c[1]) && typeof c[2] === 'number');
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        refused(err, 'EFORMAT');
      }
    }), params());
  });

  it('a head that is any text at all: refused with EFORMAT', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue({ maxDepth: 3 }).map((v) => sealJson({ format: 2, v }))), (text) => {
      assert.throws(() => openHead(text, 'head'), (err) => refused(err, 'EFORMAT'));
    }), params());
  });
});

describe('fragment files', () => {
  it('a fragment with any byte changed, cut short or replaced by junk is refused by a read, never returned', async () => {
    await withTmpDir(async (disk) => {
      const poolUuid = uuidBytes('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
      await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 9000 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat({ max: 2 }),
        async (payloadBytes, at, x, how) => {
          const payload = Buffer.from(payloadBytes);
          const extentId = blake3(payload, 16);
          const header = { poolUuid, extentId, index: 1, k: 4, m: 2, scheme: 0 as const, payloadHash: blake3(payload) };
          await fragWrite(disk, header, payload, false);
          const file = path.join(disk, fragRelativePath(extentId, 1));
          const good = fs.readFileSync(file);
          const bad = Buffer.from(good);
          if (how === 0) bad[at % bad.length]! ^= x;
          const damaged = how === 0 ? bad : how === 1 ? good.subarray(0, at % good.length) : Buffer.from(payloadBytes.subarray(0, at % (payloadBytes.length + 1)));
          fs.writeFileSync(file, damaged);
          try {
            const back = await fragRead(file, header.payloadHash);
            // Only bytes past the payload (block padding) may change unnoticed, and then the payload is intact.
            assert.ok(back.payload.equals(payload), 'a read returned other bytes than were written');
          } catch (err) {
            refused(err, 'EDIGEST', 'EFORMAT');
          } finally {
            fs.rmSync(file, { force: true });
          }
        }), params(Math.min(RUNS, 400)));
    });
  });
});

describe('config --set', () => {
  it('any settings: all applied and shown, or EINVAL naming the setting with nothing applied', async () => {
    await withTmpDir(async (root) => {
      const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
      const engine = openEngine(pool);
      try {
        const key = fc.oneof(fc.constantFrom(...SETTING_KEYS), fc.string({ maxLength: 20 }));
        const value = fc.oneof(fc.integer({ min: -10, max: 10 }), fc.integer(), fc.double(), fc.constantFrom(0, 1, 2 ** 32, 2 ** 53), fc.anything());
        const show = async () => runOp('config', engine, {}, { log: silentLogger(), reqId: 'fuzz' }) as Promise<Record<string, unknown>>;
        await fc.assert(fc.asyncProperty(fc.dictionary(key, value, { maxKeys: 4 }), async (set) => {
          const before = await show();
          let after: Record<string, unknown>;
          try {
            after = await runOp('config', engine, { set }, { log: silentLogger(), reqId: 'fuzz' }) as Record<string, unknown>;
          } catch (err) {
            refused(err, 'EINVAL');
            assert.match((err as Error).message, /^config: /);
            assert.deepEqual(await show(), before, 'a refused --set changes nothing');
            return;
          }
          assert.deepEqual((await show()).settings, after.settings, 'what --set answers is what is stored');
          for (const [k, v] of Object.entries(set)) {
            // The section is the key's first part; the rest names the setting in it (tier.hot.redundancy: section tier).
            const dot = k.indexOf('.');
            const [section, name] = [k.slice(0, dot), k.slice(dot + 1)];
            const stored = (after[section] as Record<string, unknown>)[name!];
            assert.equal(stored, k === 'admin.monitorGroup' && v === 0 ? null : v, `${k} stored as given`);
          }
        }), params(Math.min(RUNS, 500)));
      } finally {
        await engine.close();
      }
    });
  });
});

describe('config import', () => {
  it('arbitrary bytes, arbitrary JSON and settings files with arbitrary settings: applied whole, or a DfsError (EFORMAT, EINVAL) with nothing changed', async () => {
    await withTmpDir(async (root) => {
      const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
      const engine = openEngine(pool);
      try {
        const ctx = { log: silentLogger(), reqId: 'fuzz' };
        const file = path.join(root, 'settings.json');
        const stored = async () => (await runOp('config-export', engine, {}, ctx) as { settings: Record<string, unknown> }).settings;
        const imports = async (content: string, mayApply: boolean): Promise<void> => {
          const before = await stored();
          let out: { changes: { key: string; to: unknown }[] };
          try {
            out = await runOp('config-import', engine, { file, content }, ctx) as typeof out;
          } catch (err) {
            refused(err, 'EFORMAT', 'EINVAL');
            assert.ok((err as Error).message.includes(file), 'the message names the file');
            assert.deepEqual(await stored(), before, 'a refused import changes nothing');
            return;
          }
          assert.ok(mayApply, `not a settings file, yet imported: ${content.slice(0, 200)}`);
          const after = await stored();
          assert.deepEqual(after, { ...before, ...Object.fromEntries(out.changes.map((c) => [c.key, c.to])) }, 'exactly the changes it reports');
        };
        const bytes = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('utf8'));
        const json = fc.jsonValue().map((v) => JSON.stringify(v));
        await fc.assert(fc.asyncProperty(fc.oneof(bytes, json), (content) => imports(content, false)), params(Math.min(RUNS, 1000)));

        // Keys and values near what is valid (bounds ±2, the defaults), so that some files apply, and anything else.
        const near = fc.constantFrom(...SETTINGS).chain((x) => fc.tuple(fc.constant(x.key), x.bounds
          ? fc.integer({ min: x.bounds.min - 2, max: Math.min(x.bounds.min + 1000, x.bounds.max + 2) })
          : fc.constantFrom(x.default, 'nightly', 'low', 'none', true, 0, 7)));
        const any = fc.tuple(fc.oneof(fc.constantFrom(...SETTING_KEYS), fc.string({ maxLength: 20 })), fc.jsonValue());
        const settings = fc.array(fc.oneof(near, near, any), { maxLength: 4 }).map((pairs) => Object.fromEntries(pairs));
        const doc = fc.record({ format: fc.oneof(fc.constant('dynamicfs-settings'), fc.string()), version: fc.oneof(fc.constant(1), fc.integer()), settings });
        await fc.assert(fc.asyncProperty(doc, (d) => imports(JSON.stringify(d), true)), params(Math.min(RUNS, 500)));
      } finally {
        await engine.close();
      }
    });
  });
});
