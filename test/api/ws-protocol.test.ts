/**
 * graphql-ws answers a bad subscribe message as HTTP answers the same document: an `error`
 * message for that id with the same `extensions.code`, the socket and its other subscriptions
 * left alone, and nothing logged as a bug.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  ADMIN_TOKEN,
  availableModes,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { RawWs } from '../support/raw-ws.js';

const SYNTAX_ERROR = 'subscription { platformEvents { id ';
const UNKNOWN_FIELD = 'subscription { platformEvents { id nope } }';
const BAD_VARIABLE = ['query($n: String!) { app(name: $n) { name } }', { n: 5 }] as const;
const MISSING_VARIABLE = [
  'subscription($a: String!) { platformEvents(after: $a) { id } }',
  {},
] as const;
const TWO_OPERATIONS = 'query A { __typename } query B { __typename }';

describe.each(availableModes)('graphql-ws answers bad operations like HTTP (%s)', (mode) => {
  let t: TestPhantom;
  const logged: { level: number; msg: string }[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
        cb();
      },
    });
    t = await startTestPhantom(mode, { logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a syntax error on a second id as an error for that id; the first subscription keeps receiving events', async () => {
    const ws = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    ws.subscribe('live', 'subscription { platformEvents { id type app } }');
    ws.subscribe('broken', SYNTAX_ERROR);
    await ws.until(() => ws.of('broken').length > 0);
    expect(ws.of('broken')[0]).toMatchObject({ type: 'error', id: 'broken' });
    expect(ws.of('broken')[0].payload[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(ws.closed).toBeUndefined();
    // The first subscription is still served: an app created now reaches it.
    for (
      let i = 0;
      !ws.of('live').some((m) => m.payload?.data?.platformEvents?.app?.startsWith('after-syntax'));
      i++
    ) {
      const made = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: `after-syntax-${i}` },
      );
      expect(made.errors).toBeUndefined();
      await ws.until(() => ws.of('live').length > 0, 1000).catch(() => undefined);
      if (i > 20) throw new Error('the live subscription received nothing');
    }
    expect(ws.open).toBe(true);
    ws.close();
  });

  it('answers validation and variable errors with the codes HTTP uses', async () => {
    const ws = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    const cases: [string, string, Record<string, unknown> | undefined][] = [
      ['syntax', SYNTAX_ERROR, undefined],
      ['unknown-field', UNKNOWN_FIELD, undefined],
      ['bad-variable', BAD_VARIABLE[0], BAD_VARIABLE[1]],
      ['missing-variable', MISSING_VARIABLE[0], MISSING_VARIABLE[1]],
      ['which-operation', TWO_OPERATIONS, undefined],
    ];
    for (const [id, query, variables] of cases) ws.subscribe(id, query, variables);
    await ws.until(() => cases.every(([id]) => ws.of(id).length > 0));
    const codes = Object.fromEntries(
      cases.map(([id]) => [
        id,
        ws.of(id)[0].payload?.[0]?.extensions?.code ??
          ws.of(id)[0].payload?.errors?.[0]?.extensions?.code,
      ]),
    );
    expect(codes).toEqual({
      syntax: 'GRAPHQL_PARSE_FAILED',
      'unknown-field': 'GRAPHQL_VALIDATION_FAILED',
      'bad-variable': 'BAD_USER_INPUT',
      'missing-variable': 'BAD_USER_INPUT',
      'which-operation': 'OPERATION_RESOLUTION_FAILURE',
    });
    for (const [id] of cases) expect(ws.of(id)[0].type).toBe('error');
    // The same documents over HTTP.
    expect(errorCode(await t.gql(SYNTAX_ERROR))).toBe('GRAPHQL_PARSE_FAILED');
    expect(errorCode(await t.gql(UNKNOWN_FIELD))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errorCode(await t.gql(BAD_VARIABLE[0], BAD_VARIABLE[1]))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(TWO_OPERATIONS))).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(ws.closed).toBeUndefined();
    ws.close();
  });

  it('logs no error (and no stack trace) for bad messages', async () => {
    const ws = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    const before = logged.length;
    ws.subscribe('a', UNKNOWN_FIELD);
    ws.subscribe('b', MISSING_VARIABLE[0], MISSING_VARIABLE[1]);
    await ws.until(() => ['a', 'b'].every((id) => ws.of(id).length > 0));
    const errors = logged.slice(before).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
    ws.close();
  });

  it("graphql-ws's client gets the syntax error on that subscription while another one on the socket lives on", async () => {
    const c = t.ws();
    const closes: number[] = [];
    c.on('closed', (e: any) => closes.push(e.code));
    const events: any[] = [];
    c.subscribe(
      { query: 'subscription { platformEvents { id app } }' },
      { next: (v) => events.push(v), error: () => undefined, complete: () => undefined },
    );
    const failed = await new Promise<any>((resolve) => {
      c.subscribe(
        { query: SYNTAX_ERROR },
        { next: () => undefined, error: resolve, complete: () => resolve('completed') },
      );
    });
    expect(Array.isArray(failed)).toBe(true);
    expect(failed[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    for (
      let i = 0;
      !events.some((e) => e.data?.platformEvents?.app?.startsWith('client-after'));
      i++
    ) {
      await t.gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`, {
        n: `client-after-${i}`,
      });
      await new Promise((r) => setTimeout(r, 300));
      if (i > 20) throw new Error('the live subscription received nothing');
    }
    expect(closes).toEqual([]);
  });
});
