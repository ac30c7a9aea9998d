/**
 * The intent log's records (docs/FORMAT.md): the byte layout, a walk that stops at the
 * first record that does not verify, and replay's choice: one generation, one copy per
 * sequence number, whole fsyncs only, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carryRecord, decodeRecords, encodeRecords, LOG_HEADER_BYTES, replayable, uuidBytes, type LogRecord } from '../../../src/engine/intent-record';
import { blake3 } from '../../../src/native';

const POOL = uuidBytes('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
const OTHER = uuidBytes('00000000-0000-4000-8000-000000000000');

function rec(seq: number, part: number, end: boolean, data = `data ${seq}`, generation = 7): LogRecord {
  return { generation, seq, ino: 42, offset: seq * 100, size: 5000 + seq, mtimeMs: 1_796_000_000_000.25, data: Buffer.from(data), part, end, carry: false, name: false };
}

describe('intent log records', () => {
  it('lays a record out as FORMAT.md says, sealed by BLAKE3 over header and data', () => {
    const r = rec(9, 2, true, 'hello');
    const b = encodeRecords(POOL, [r]);
    assert.equal(b.length, LOG_HEADER_BYTES + 5 + 32);
    assert.equal(b.subarray(0, 4).toString('latin1'), 'DFSL');
    assert.equal(b.readUInt16LE(4), 1);
    assert.equal(b.readUInt16LE(6), 1);
    assert.ok(b.subarray(8, 24).equals(POOL));
    assert.equal(b.readBigUInt64LE(24), 7n);
    assert.equal(b.readBigUInt64LE(32), 9n);
    assert.equal(b.readBigUInt64LE(40), 42n);
    assert.equal(b.readBigUInt64LE(48), 900n);
    assert.equal(b.readBigUInt64LE(56), 5009n);
    assert.equal(b.readDoubleLE(64), 1_796_000_000_000.25);
    assert.equal(b.readUInt32LE(72), 5);
    assert.equal(b.readUInt32LE(76), 2);
    assert.equal(b.subarray(80, 85).toString(), 'hello');
    assert.ok(b.subarray(85).equals(blake3(b.subarray(0, 85))));
    assert.deepEqual(decodeRecords(POOL, b), [r]);
  });

  it('stops at the first record that does not verify: a flipped byte, a torn tail, another pool', () => {
    const rs = [rec(1, 0, true), rec(2, 0, false), rec(3, 1, true)];
    const b = encodeRecords(POOL, rs);
    const second = LOG_HEADER_BYTES + rs[0]!.data.length + 32;
    const flipped = Buffer.from(b);
    flipped[second + LOG_HEADER_BYTES + 1]! ^= 1;
    assert.deepEqual(decodeRecords(POOL, flipped), [rs[0]]);
    assert.deepEqual(decodeRecords(POOL, b.subarray(0, b.length - 1)), rs.slice(0, 2));
    assert.deepEqual(decodeRecords(OTHER, b), []);
    assert.deepEqual(decodeRecords(POOL, Buffer.alloc(0)), []);
  });

  it('replays one generation, one copy per sequence number, whole fsyncs only, in order', () => {
    const a = [rec(3, 0, false), rec(4, 1, true), rec(5, 0, true)];
    const b = [rec(5, 0, true), rec(6, 0, false), rec(7, 1, false)]; // fsync 6..8 never finished
    const old = [rec(1, 0, true, 'old', 6), rec(2, 0, true, 'new', 8)];
    assert.deepEqual(replayable(7, [b, a, old]).map((r) => r.seq), [3, 4, 5]);
    // A lost middle part drops its whole fsync, not the ones after it.
    assert.deepEqual(replayable(7, [[rec(3, 0, false), rec(5, 0, true)]]).map((r) => r.seq), [5]);
    assert.deepEqual(replayable(8, [old]).map((r) => r.data.toString()), ['new']);
  });

  it('a carry record keeps an inode\'s records of the generation before valid; of several for one generation the last counts', () => {
    const of = (ino: number, seq: number, generation: number): LogRecord => ({ ...rec(seq, 0, true, `i${ino}s${seq}`, generation), ino });
    const carry = carryRecord(8, 20, [42, 43]);
    assert.deepEqual(decodeRecords(POOL, encodeRecords(POOL, [carry])), [carry]);
    assert.equal(encodeRecords(POOL, [carry]).readUInt16LE(6), 3);
    const log = [of(42, 1, 7), of(44, 2, 7), carry, of(42, 21, 8), of(44, 22, 8)];
    // Generation 8 carried inode 42 (and 43), not 44: 44's record of generation 7 was committed into 8.
    assert.deepEqual(replayable(8, [log]).map((r) => r.seq), [1, 21, 22]);
    // Generation 9 carried nothing: only its own records apply.
    assert.deepEqual(replayable(9, [[...log, carryRecord(9, 30, []), of(42, 31, 9)]]).map((r) => r.seq), [31]);
    // A commit that failed wrote a carry record of 42; the retry that committed carried nothing.
    assert.deepEqual(replayable(8, [[of(42, 1, 7), carryRecord(8, 5, [42]), carryRecord(8, 6, [])]]).map((r) => r.seq), []);
    // A disk that missed a reset keeps an old record with the same sequence number as a valid one: it shadows nothing.
    assert.deepEqual(replayable(9, [[of(42, 4, 6)], [of(43, 4, 9)]]).map((r) => [r.ino, r.generation]), [[43, 9]]);
    // Carried through two groups.
    assert.deepEqual(replayable(9, [[of(42, 1, 7), carryRecord(8, 5, [42]), carryRecord(9, 6, [42])]]).map((r) => r.seq), [1]);
  });

  it('the committed group\'s carry state keeps an inode\'s records valid back to the first of its run of carrying groups', () => {
    const of = (ino: number, seq: number, generation: number): LogRecord => ({ ...rec(seq, 0, true, `i${ino}s${seq}`, generation), ino });
    const log = [of(42, 1, 6), of(42, 2, 7), of(44, 3, 7), of(42, 4, 9), of(45, 5, 8)];
    // 42 carried by groups 8 and 9: its records of 7 and 9 apply, not 6's (group 7 took it whole); 44 was not carried; 45 by group 9.
    assert.deepEqual(replayable(9, [log], new Map([[42, 8], [45, 9]])).map((r) => r.seq), [2, 4, 5]);
    assert.deepEqual(replayable(9, [log]).map((r) => r.seq), [4]);
  });

  it('a name record is version 2 with flag bit 2, one record per change, valid on its own generation only (never carried)', () => {
    const name = (seq: number, generation: number, ino = 42): LogRecord => ({ ...rec(seq, 0, true, `name ${seq}`, generation), ino, offset: 0, size: 0, name: true });
    const b = encodeRecords(POOL, [name(3, 7)]);
    assert.equal(b.readUInt16LE(4), 2);
    assert.equal(b.readUInt16LE(6), 5);
    assert.deepEqual(decodeRecords(POOL, b), [name(3, 7)]);
    // A name flag under version 1 (or a data record claiming version 2) is not a record this build wrote: the walk stops.
    const wrongVersion = Buffer.from(b);
    wrongVersion.writeUInt16LE(1, 4);
    assert.deepEqual(decodeRecords(POOL, wrongVersion), []);
    const data = encodeRecords(POOL, [rec(1, 0, true)]);
    data.writeUInt16LE(2, 4);
    assert.deepEqual(decodeRecords(POOL, data), []);
    // In order with the file records; inode 42 carried since 7, yet its name record of 7 is not replayed on 8.
    const log = [name(1, 7), rec(2, 0, true, 'd', 7), name(3, 8), rec(4, 0, false, 'e', 8), rec(5, 1, true, 'f', 8)];
    assert.deepEqual(replayable(8, [log], new Map([[42, 8]])).map((r) => [r.seq, r.name]), [[2, false], [3, true], [4, false], [5, false]]);
    assert.deepEqual(replayable(7, [log]).map((r) => r.seq), [1, 2]);
  });
});
