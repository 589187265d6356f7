// storedEvents (support/collector.mjs) is how every realm and demo test reads the collector's
// files while it still writes them: only complete lines are events.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { storedEvents } from './support/collector.mjs';

describe('storedEvents', () => {
  it('reads complete lines of sealed and open files, and leaves a line still being appended', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maidian-stored-'));
    try {
      fs.mkdirSync(path.join(dir, 'demo', '2026'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'demo', '2026', 'a.ndjson'), '{"n":1}\n{"n":2}\n');
      fs.writeFileSync(path.join(dir, 'demo', '2026', 'b.ndjson.open'), '{"n":3}\n{"n":4,"s":"ha');
      fs.writeFileSync(path.join(dir, 'demo', 'ids.log'), 'not an event\n');
      const ns = storedEvents(dir).map((e) => e.n);
      assert.deepEqual(ns.sort(), [1, 2, 3]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
