/**
 * Approval tickets through the real HTTP API (both modes): access requests, decisions and
 * who may make them, expiry, visibility, pagination, the decision hook of the release
 * module, and the engine's internal operations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { PlatformEventRow } from '../../src/domain/events/platform-event.entity.js';
import { Ticket } from '../../src/domain/tickets/ticket.entity.js';
import { TicketKind, TicketStatus } from '../../src/domain/tickets/ticket-kind.js';
import {
  closeReleaseTickets,
  openReleaseApprovalTicket,
} from '../../src/domain/tickets/ticket.service.js';
import type { TicketDecisionHook } from '../../src/domain/tickets/ticket.record.js';
import { toGlobalId } from '../../src/resolvers/global-id.js';
import { renderMessage } from '../../src/domain/notify/notification-message.js';
import { loadConfig } from '../../src/config.js';

const TICKET = `id kind status appName app { name } requester role reason decidedBy comment createdAt decidedAt expiresAt viewerCanDecide`;
const REQUEST = `mutation($a: String!, $r: AppRole!, $why: String!) { requestAccess(app: $a, role: $r, reason: $why) { ${TICKET} } }`;
const APPROVE = `mutation($id: ID!, $c: String) { approveTicket(id: $id, comment: $c) { ${TICKET} } }`;
const REJECT = `mutation($id: ID!, $c: String) { rejectTicket(id: $id, comment: $c) { ${TICKET} } }`;
const GET = `query($id: ID!) { ticket(id: $id) { ${TICKET} } }`;
const LIST = `query($f: TicketFilter, $n: Int, $a: String) { tickets(filter: $f, first: $n, after: $a) { edges { cursor node { id status kind } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`;

describe.each(availableModes)('approval tickets (%s)', (mode) => {
  let t: TestPhantom;
  const tok = {} as Record<'owner' | 'dev' | 'outsider' | 'alice' | 'bob' | 'carol', string>;

  /** The outbox rows of `type` about `app` (committed with the change; no need to wait for the relay). */
  async function events(type: string, app: string): Promise<PlatformEventRow[]> {
    return t.phantom.platform.orm.em
      .fork()
      .find(PlatformEventRow, { type, app }, { orderBy: { id: 'asc' } });
  }

  async function gqlOk(query: string, variables: Record<string, unknown>, token?: string | null) {
    const r = await t.gql(query, variables, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  }

  /** A new app owned by `owner`, with `dev` as DEVELOPER. */
  async function newApp(name: string): Promise<number> {
    const c = await gqlOk(
      `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { id } }`,
      { n: name },
      tok.owner,
    );
    await gqlOk(
      `mutation($n: String!) { setAppMember(app: $n, username: "dev", role: DEVELOPER) { name } }`,
      { n: name },
      tok.owner,
    );
    return Number(Buffer.from(c.createApp.id, 'base64url').toString().split(':')[1]);
  }

  /** Opens a RELEASE_APPROVAL ticket the way the release engine will: in its own transaction. */
  async function openReleaseTicket(appId: number, app: string, releaseId: number): Promise<string> {
    const platform = t.phantom.platform;
    const ticket = await platform.orm.em.fork().transactional((em) =>
      openReleaseApprovalTicket(em, platform.deps, {
        appId,
        app,
        releaseId,
        requesterId: 1,
        requester: 'admin',
        reason: `release ${releaseId} to prod`,
      }),
    );
    platform.deps.onEventsCommitted();
    return toGlobalId('Ticket', ticket.id);
  }

  beforeAll(async () => {
    t = await startTestPhantom(mode);
    for (const u of ['owner', 'dev', 'outsider', 'alice', 'bob', 'carol'] as const)
      tok[u] = await createUserWithToken(t, u);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('request → owner approves → the role is granted in the same step, with events', async () => {
    await newApp('shop');
    const req = await gqlOk(
      REQUEST,
      { a: 'shop', r: 'OWNER', why: 'I am taking over the shop' },
      tok.alice,
    );
    const ticket = req.requestAccess;
    expect(ticket).toMatchObject({
      kind: 'ACCESS_REQUEST',
      status: 'OPEN',
      appName: 'shop',
      app: { name: 'shop' },
      requester: 'alice',
      role: 'OWNER',
      reason: 'I am taking over the shop',
      decidedBy: null,
      comment: null,
      decidedAt: null,
      viewerCanDecide: false,
    });
    // Default TTL: 72 hours.
    const ttl = Date.parse(ticket.expiresAt) - Date.parse(ticket.createdAt);
    expect(ttl).toBe(72 * 3600_000);
    // Before: alice may not edit the app (this also caches her roles, which the approval must drop).
    expect(
      errorCode(
        await t.gql(
          `mutation { updateApp(name: "shop", input: { description: "mine" }) { version } }`,
          {},
          tok.alice,
        ),
      ),
    ).toBe('FORBIDDEN');

    expect((await gqlOk(GET, { id: ticket.id }, tok.owner)).ticket.viewerCanDecide).toBe(true);
    expect((await gqlOk(GET, { id: ticket.id }, tok.dev)).ticket.viewerCanDecide).toBe(false);

    const approved = (await gqlOk(APPROVE, { id: ticket.id, c: 'welcome' }, tok.owner))
      .approveTicket;
    expect(approved).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'owner',
      comment: 'welcome',
      viewerCanDecide: false,
    });
    expect(approved.decidedAt).toBeTruthy();

    const members = await gqlOk(
      `{ app(name: "shop") { members { user { username } role } } }`,
      {},
      tok.alice,
    );
    expect(members.app.members).toContainEqual({ user: { username: 'alice' }, role: 'OWNER' });
    const edit = await t.gql(
      `mutation { updateApp(name: "shop", input: { description: "mine" }) { description } }`,
      {},
      tok.alice,
    );
    expect(edit.errors).toBeUndefined();
    // Reads through the roles cache (filled with "no role" by her request) see the new role too.
    const bobs = (await gqlOk(REQUEST, { a: 'shop', r: 'VIEWER', why: 'curious' }, tok.bob))
      .requestAccess;
    expect((await gqlOk(GET, { id: bobs.id }, tok.alice)).ticket.viewerCanDecide).toBe(true);
    await gqlOk(REJECT, { id: bobs.id }, tok.alice);

    const created = (await events('TICKET_CREATED', 'shop')).filter(
      (e) => e.payload.requester === 'alice',
    );
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      actor: 'alice',
      payload: {
        kind: 'ACCESS_REQUEST',
        requester: 'alice',
        role: 'OWNER',
        reason: 'I am taking over the shop',
      },
    });
    const decided = await events('TICKET_APPROVED', 'shop');
    expect(decided).toHaveLength(1);
    expect(decided[0]).toMatchObject({
      actor: 'owner',
      payload: { kind: 'ACCESS_REQUEST', requester: 'alice', comment: 'welcome' },
    });
    expect((await events('MEMBER_CHANGED', 'shop')).map((e) => e.payload)).toContainEqual({
      username: 'alice',
      from: null,
      to: 'OWNER',
    });
  });

  it("the audit log files decisions under the ticket's app", async () => {
    const audit = await gqlOk(
      `{ auditLog(first: 50, filter: { operation: "approveTicket" }) { edges { node { app target outcome } } } }`,
      {},
      tok.owner,
    );
    expect(audit.auditLog.edges.map((e: any) => e.node)).toContainEqual({
      app: 'shop',
      target: expect.stringMatching(/^Ticket #\d+$/),
      outcome: 'OK',
    });
  });

  it('nobody decides their own ticket, not even a platform admin; a DEVELOPER never decides', async () => {
    await newApp('cart');
    const mine = (
      await gqlOk(REQUEST, { a: 'cart', r: 'DEVELOPER', why: 'fixing checkout' }, tok.bob)
    ).requestAccess;
    const own = await t.gql(APPROVE, { id: mine.id }, tok.bob);
    expect(errorCode(own)).toBe('FORBIDDEN');
    expect(own.errors![0].message).toMatch(
      /You requested Ticket #\d+: someone else must decide it/,
    );
    expect(errorCode(await t.gql(APPROVE, { id: mine.id }, tok.dev))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(REJECT, { id: mine.id }, tok.dev))).toBe('FORBIDDEN');

    // The admin asks for access to an app they are not a member of: their own ADMIN rights do not help.
    const adminsOwn = (await gqlOk(REQUEST, { a: 'cart', r: 'VIEWER', why: 'auditing' }))
      .requestAccess;
    expect(adminsOwn.viewerCanDecide).toBe(false);
    const self = await t.gql(APPROVE, { id: adminsOwn.id });
    expect(errorCode(self)).toBe('FORBIDDEN');
    expect(self.errors![0].message).toMatch(/even when you are an admin/);
    // …but they decide others' tickets.
    expect((await gqlOk(GET, { id: mine.id })).ticket.viewerCanDecide).toBe(true);
    expect((await gqlOk(APPROVE, { id: mine.id })).approveTicket.status).toBe('APPROVED');
    expect((await gqlOk(APPROVE, { id: adminsOwn.id }, tok.owner)).approveTicket).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'owner',
    });
  });

  it('reject: no role granted; a second decision is a CONFLICT', async () => {
    await newApp('blog');
    const req = (await gqlOk(REQUEST, { a: 'blog', r: 'DEVELOPER', why: 'typo fixes' }, tok.carol))
      .requestAccess;
    const rejected = (await gqlOk(REJECT, { id: req.id, c: 'ask in #blog first' }, tok.owner))
      .rejectTicket;
    expect(rejected).toMatchObject({
      status: 'REJECTED',
      decidedBy: 'owner',
      comment: 'ask in #blog first',
    });
    const members = await gqlOk(
      `{ app(name: "blog") { members { user { username } } } }`,
      {},
      tok.owner,
    );
    expect(members.app.members.map((m: any) => m.user.username)).not.toContain('carol');
    expect(await events('TICKET_REJECTED', 'blog')).toHaveLength(1);

    const again = await t.gql(APPROVE, { id: req.id }, tok.owner);
    expect(errorCode(again)).toBe('CONFLICT');
    expect(again.errors![0].message).toMatch(/already REJECTED/);
    expect(errorCode(await t.gql(REJECT, { id: req.id }, tok.owner))).toBe('CONFLICT');
    expect(await events('TICKET_APPROVED', 'blog')).toHaveLength(0);
    // Decided: a new request may be opened.
    expect(
      (await gqlOk(REQUEST, { a: 'blog', r: 'VIEWER', why: 'read only then' }, tok.carol))
        .requestAccess.status,
    ).toBe('OPEN');
  });

  it('refuses a second open request, a role already held, bad input', async () => {
    await newApp('docs');
    await gqlOk(REQUEST, { a: 'docs', r: 'VIEWER', why: 'reading' }, tok.alice);
    const dup = await t.gql(REQUEST, { a: 'docs', r: 'OWNER', why: 'more' }, tok.alice);
    expect(errorCode(dup)).toBe('CONFLICT');
    expect(dup.errors![0].message).toMatch(/already have an open access request/);
    const held = await t.gql(REQUEST, { a: 'docs', r: 'VIEWER', why: 'x' }, tok.dev);
    expect(errorCode(held)).toBe('CONFLICT');
    expect(held.errors![0].extensions!.field).toBe('role');
    const blank = await t.gql(REQUEST, { a: 'docs', r: 'VIEWER', why: '   ' }, tok.bob);
    expect(errorCode(blank)).toBe('BAD_USER_INPUT');
    expect(blank.errors![0].extensions!.field).toBe('reason');
    expect(
      errorCode(await t.gql(REQUEST, { a: 'docs', r: 'VIEWER', why: 'x'.repeat(2001) }, tok.bob)),
    ).toBe('BAD_USER_INPUT');
    const missing = await t.gql(REQUEST, { a: 'no-such-app', r: 'VIEWER', why: 'x' }, tok.bob);
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(missing.errors![0].extensions!.field).toBe('app');
    const req = (await gqlOk(REQUEST, { a: 'docs', r: 'VIEWER', why: 'ok' }, tok.bob))
      .requestAccess;
    const long = await t.gql(APPROVE, { id: req.id, c: 'y'.repeat(2001) }, tok.owner);
    expect(errorCode(long)).toBe('BAD_USER_INPUT');
    expect(long.errors![0].extensions!.field).toBe('comment');
  });

  it('a ticket outlives its app: `app` reads null, `appName` stays, approving is a CONFLICT', async () => {
    await newApp('gone');
    const req = (
      await gqlOk(REQUEST, { a: 'gone', r: 'DEVELOPER', why: 'before it goes' }, tok.carol)
    ).requestAccess;
    await gqlOk(`mutation { deleteApp(name: "gone") }`, {}, tok.owner);
    expect((await gqlOk(GET, { id: req.id }, tok.carol)).ticket).toMatchObject({
      app: null,
      appName: 'gone',
      status: 'OPEN',
    });
    const r = await t.gql(APPROVE, { id: req.id });
    expect(errorCode(r)).toBe('CONFLICT');
    expect(r.errors![0].message).toMatch(/was deleted/);
    expect((await gqlOk(GET, { id: req.id })).ticket.status).toBe('OPEN');
    // A new app of the same name is not the ticket's app: its members do not see the old ticket.
    await newApp('gone');
    expect(errorCode(await t.gql(GET, { id: req.id }, tok.dev))).toBe('NOT_FOUND');
    expect((await gqlOk(REJECT, { id: req.id, c: 'app deleted' })).rejectTicket.status).toBe(
      'REJECTED',
    );
  });

  it('visibility: requester, app members and admins; others get NOT_FOUND / null and an empty list', async () => {
    await newApp('vault');
    const req = (await gqlOk(REQUEST, { a: 'vault', r: 'VIEWER', why: 'secrets' }, tok.alice))
      .requestAccess;
    for (const who of [tok.alice, tok.owner, tok.dev, undefined]) {
      expect((await gqlOk(GET, { id: req.id }, who)).ticket.id).toBe(req.id);
    }
    const missingId = toGlobalId('Ticket', 999_999);
    const outsider = await t.gql(GET, { id: req.id }, tok.outsider);
    const nothing = await t.gql(GET, { id: missingId }, tok.outsider);
    expect(errorCode(outsider)).toBe('NOT_FOUND');
    expect(errorCode(nothing)).toBe('NOT_FOUND');
    // The same words as for a ticket that does not exist.
    expect(outsider.errors![0].message).toMatch(/^Ticket #\d+ not found\.$/);
    expect(nothing.errors![0].message).toBe('Ticket #999999 not found.');
    // node(id): null, exactly as for a ticket that does not exist.
    const node = await gqlOk(
      `query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }`,
      { a: req.id, b: missingId },
      tok.outsider,
    );
    expect(node).toEqual({ a: null, b: null });
    const seen = await gqlOk(
      `query($a: ID!) { node(id: $a) { id ... on Ticket { requester } } }`,
      { a: req.id },
      tok.dev,
    );
    expect(seen.node).toEqual({ id: req.id, requester: 'alice' });
    // Deciding something you cannot see is NOT_FOUND, not FORBIDDEN.
    expect(errorCode(await t.gql(APPROVE, { id: req.id }, tok.outsider))).toBe('NOT_FOUND');
    const list = await gqlOk(LIST, { n: 100 }, tok.outsider);
    expect(list.tickets.edges).toEqual([]);
    const mine = await gqlOk(LIST, { f: { mine: true }, n: 100 }, tok.alice);
    expect(mine.tickets.edges.map((e: any) => e.node.id)).toContain(req.id);
    expect(
      (await gqlOk(LIST, { f: { app: 'vault' }, n: 100 }, tok.dev)).tickets.edges.map(
        (e: any) => e.node.id,
      ),
    ).toEqual([req.id]);
    expect(
      (await gqlOk(LIST, { f: { app: 'vault' }, n: 100 }, tok.outsider)).tickets.edges,
    ).toEqual([]);
  });

  it('lists newest first with keyset pagination and filters', async () => {
    const appId = await newApp('pages');
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await openReleaseTicket(appId, 'pages', 100 + i));
    const newest = [...ids].reverse();
    const p1 = await gqlOk(LIST, { f: { app: 'pages' }, n: 2 }, tok.dev);
    expect(p1.tickets.edges.map((e: any) => e.node.id)).toEqual(newest.slice(0, 2));
    expect(p1.tickets.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const p2 = await gqlOk(
      LIST,
      { f: { app: 'pages' }, n: 2, a: p1.tickets.pageInfo.endCursor },
      tok.dev,
    );
    expect(p2.tickets.edges.map((e: any) => e.node.id)).toEqual(newest.slice(2, 4));
    expect(p2.tickets.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const p3 = await gqlOk(
      LIST,
      { f: { app: 'pages' }, n: 2, a: p2.tickets.pageInfo.endCursor },
      tok.dev,
    );
    expect(p3.tickets.edges.map((e: any) => e.node.id)).toEqual(newest.slice(4));
    expect(p3.tickets.pageInfo.hasNextPage).toBe(false);

    await gqlOk(REJECT, { id: ids[0] }, tok.owner);
    const open = await gqlOk(
      LIST,
      { f: { app: 'pages', status: 'OPEN', kind: 'RELEASE_APPROVAL' }, n: 100 },
      tok.owner,
    );
    expect(open.tickets.edges.map((e: any) => e.node.id)).toEqual(newest.slice(0, 4));
    expect(
      (await gqlOk(LIST, { f: { app: 'pages', kind: 'ACCESS_REQUEST' }, n: 100 }, tok.owner))
        .tickets.edges,
    ).toEqual([]);
    expect(errorCode(await t.gql(LIST, { a: 'not-a-cursor' }, tok.owner))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(LIST, { n: 101 }, tok.owner))).toBe('BAD_USER_INPUT');
  });

  it("runs the kind's decision hook inside the deciding transaction; a throwing hook rolls the decision back", async () => {
    const appId = await newApp('engine');
    const hooks = t.phantom.platform.deps.ticketDecisionHooks;
    const seen: {
      decision: string;
      actor: string;
      releaseId: number | null;
      inTx: boolean;
      rowStatus: string;
    }[] = [];
    const hook: TicketDecisionHook = async (em, ticket, decision, actor) => {
      // Read through the transaction's connection: the decided row is visible there before commit.
      const [row] = await em
        .getConnection()
        .execute(
          'select status from tickets where id = ?',
          [ticket.id],
          'all',
          em.getTransactionContext(),
        );
      seen.push({
        decision,
        actor,
        releaseId: ticket.releaseId,
        inTx: em.isInTransaction(),
        rowStatus: row.status,
      });
    };
    hooks[TicketKind.RELEASE_APPROVAL] = hook;
    try {
      const a = await openReleaseTicket(appId, 'engine', 501);
      expect((await gqlOk(APPROVE, { id: a }, tok.owner)).approveTicket.status).toBe('APPROVED');
      const b = await openReleaseTicket(appId, 'engine', 502);
      expect((await gqlOk(REJECT, { id: b, c: 'not today' }, tok.owner)).rejectTicket.status).toBe(
        'REJECTED',
      );
      expect(seen).toEqual([
        { decision: 'APPROVED', actor: 'owner', releaseId: 501, inTx: true, rowStatus: 'APPROVED' },
        { decision: 'REJECTED', actor: 'owner', releaseId: 502, inTx: true, rowStatus: 'REJECTED' },
      ]);
      // Access requests have no hook registered: unaffected.
      const access = (await gqlOk(REQUEST, { a: 'engine', r: 'VIEWER', why: 'look' }, tok.carol))
        .requestAccess;
      await gqlOk(APPROVE, { id: access.id }, tok.owner);
      expect(seen).toHaveLength(2);

      hooks[TicketKind.RELEASE_APPROVAL] = () => {
        throw new Error('release engine refused');
      };
      const c = await openReleaseTicket(appId, 'engine', 503);
      const failed = await t.gql(APPROVE, { id: c }, tok.owner);
      expect(errorCode(failed)).toBe('INTERNAL_SERVER_ERROR');
      const after = (await gqlOk(GET, { id: c }, tok.owner)).ticket;
      expect(after).toMatchObject({
        status: 'OPEN',
        decidedBy: null,
        decidedAt: null,
        viewerCanDecide: true,
      });
      const approvedReleases = (await events('TICKET_APPROVED', 'engine'))
        .filter((e) => e.payload.kind === 'RELEASE_APPROVAL')
        .map((e) => e.payload.releaseId);
      expect(approvedReleases).toEqual([501]);
    } finally {
      delete hooks[TicketKind.RELEASE_APPROVAL];
    }
  });

  it('closeReleaseTickets closes only the OPEN tickets of that release, with events', async () => {
    const appId = await newApp('closer');
    const a = await openReleaseTicket(appId, 'closer', 701);
    const b = await openReleaseTicket(appId, 'closer', 701);
    await openReleaseTicket(appId, 'closer', 702);
    await gqlOk(APPROVE, { id: a }, tok.owner);
    const platform = t.phantom.platform;
    const n = await platform.orm.em
      .fork()
      .transactional((em) => closeReleaseTickets(em, 701, 'CANCELED', 'release canceled'));
    expect(n).toBe(1);
    expect((await gqlOk(GET, { id: a }, tok.owner)).ticket.status).toBe('APPROVED');
    expect((await gqlOk(GET, { id: b }, tok.owner)).ticket).toMatchObject({
      status: 'CANCELED',
      comment: 'release canceled',
      decidedBy: null,
      viewerCanDecide: false,
    });
    expect(errorCode(await t.gql(APPROVE, { id: b }, tok.owner))).toBe('CONFLICT');
    const canceled = await events('TICKET_CANCELED', 'closer');
    expect(canceled).toHaveLength(1);
    expect(canceled[0]).toMatchObject({
      actor: null,
      payload: { kind: 'RELEASE_APPROVAL', releaseId: 701, comment: 'release canceled' },
    });
    const rows = await platform.orm.em.fork().find(Ticket, { releaseId: 702 });
    expect(rows.map((r) => r.status)).toEqual([TicketStatus.OPEN]);
    expect(
      await platform.orm.em
        .fork()
        .transactional((em) => closeReleaseTickets(em, 702, 'EXPIRED', null)),
    ).toBe(1);
    expect(await events('TICKET_EXPIRED', 'closer')).toHaveLength(1);
  });
});

describe.each(availableModes)('approval tickets expire (%s)', (mode) => {
  let t: TestPhantom;
  let alice: string;
  let owner: string;
  beforeAll(async () => {
    // 0.0003 h ≈ 1.1 s: fractional hours are allowed.
    t = await startTestPhantom(mode, { env: { PHANTOM_TICKET_TTL_HOURS: '0.0003' } });
    alice = await createUserWithToken(t, 'alice');
    owner = await createUserWithToken(t, 'owner');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('an OPEN ticket past expiresAt reads EXPIRED; deciding it marks it EXPIRED and answers CONFLICT', async () => {
    await t.gql(`mutation { createApp(input: { name: "late", kind: GO }) { id } }`, {}, owner);
    const req = await t.gql(REQUEST, { a: 'late', r: 'VIEWER', why: 'soon' }, alice);
    expect(req.errors).toBeUndefined();
    const ticket = req.data.requestAccess;
    expect(Date.parse(ticket.expiresAt) - Date.parse(ticket.createdAt)).toBe(
      Math.round(0.0003 * 3600_000),
    );
    // Wait until it has expired (no assertion on time: only on what it reads afterwards).
    await new Promise((r) =>
      setTimeout(r, Math.max(0, Date.parse(ticket.expiresAt) - Date.now()) + 100),
    );

    const read = await t.gql(GET, { id: ticket.id }, owner);
    expect(read.data.ticket).toMatchObject({ status: 'EXPIRED', viewerCanDecide: false });
    const listed = await t.gql(LIST, { f: { status: 'EXPIRED' } }, owner);
    expect(listed.data.tickets.edges.map((e: any) => e.node.id)).toEqual([ticket.id]);
    expect((await t.gql(LIST, { f: { status: 'OPEN' } }, owner)).data.tickets.edges).toEqual([]);

    const late = await t.gql(APPROVE, { id: ticket.id }, owner);
    expect(errorCode(late)).toBe('CONFLICT');
    expect(late.errors![0].message).toMatch(/expired/);
    const row = await t.phantom.platform.orm.em.fork().findOneOrFail(Ticket, {
      id: Number(Buffer.from(ticket.id, 'base64url').toString().split(':')[1]),
    });
    expect(row.status).toBe(TicketStatus.EXPIRED);
    expect(
      await t.phantom.platform.orm.em
        .fork()
        .count(PlatformEventRow, { type: 'TICKET_EXPIRED', app: 'late' }),
    ).toBe(1);
    expect(
      (
        await t.gql(`{ app(name: "late") { members { user { username } } } }`, {}, owner)
      ).data.app.members.map((m: any) => m.user.username),
    ).toEqual(['owner']);
    // The expired request no longer blocks a new one.
    const again = await t.gql(REQUEST, { a: 'late', r: 'VIEWER', why: 'again' }, alice);
    expect(again.errors).toBeUndefined();
  });
});

describe('approval tickets: settings and chat text', () => {
  it('PHANTOM_TICKET_TTL_HOURS: default 72, fractions allowed, bad values named', () => {
    expect(loadConfig({}).ticketTtlHours).toBe(72);
    expect(loadConfig({ PHANTOM_TICKET_TTL_HOURS: '0.5' }).ticketTtlHours).toBe(0.5);
    for (const bad of ['0', '-1', 'soon', String(24 * 366)]) {
      expect(() => loadConfig({ PHANTOM_TICKET_TTL_HOURS: bad })).toThrow(
        /PHANTOM_TICKET_TTL_HOURS/,
      );
    }
  });

  it('chat messages name the app, kind, requester and role', () => {
    const m = renderMessage(
      {
        id: '3',
        type: 'TICKET_CREATED',
        at: '2026-12-01T10:00:00.000Z',
        actor: 'alice',
        app: 'shop',
        env: null,
        payload: {
          ticketId: 4,
          kind: 'ACCESS_REQUEST',
          requester: 'alice',
          role: 'OWNER',
          reason: 'taking over',
        },
      },
      'https://p.example',
    );
    expect(m.text.split('\n')).toEqual([
      '[Phantom] Approval requested: shop',
      'App: shop',
      'By: alice',
      'Status: CREATED',
      'Kind: access request',
      'Requester: alice',
      'Role: OWNER',
      'Reason: taking over',
      'At: 2026-12-01T10:00:00.000Z',
      'https://p.example/apps/shop',
    ]);
    const d = renderMessage(
      {
        id: '4',
        type: 'TICKET_EXPIRED',
        at: '2026-12-01T10:00:00.000Z',
        actor: null,
        app: 'shop',
        env: null,
        payload: { ticketId: 5, kind: 'RELEASE_APPROVAL', requester: 'bob', releaseId: 9 },
      },
      'https://p.example',
    );
    expect(d.title).toBe('Approval expired: shop');
    expect(d.details).toEqual(
      expect.arrayContaining([
        'Status: EXPIRED',
        'Kind: release approval',
        'Requester: bob',
        'Release: #9',
      ]),
    );
    expect(d.link).toBe('https://p.example/releases/9');
  });
});
