import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { ApiToken } from './api-token.entity.js';
import { User } from './user.entity.js';
import { findUserRows, type UserRow } from './user.repository.js';
import { TokenScope } from './token-scope.js';
import { hashPassword, newSecret, sha256, verifyPassword } from './password.js';
import { actsAsAdmin, sessionScopes, type Viewer } from './viewer.js';
import type { DomainContext, DomainDeps } from '../shared/domain-context.js';
import { DomainError, badInput, conflict, notFound, unauthenticated } from '../shared/errors.js';
import { forUpdate } from '../../db/locking.js';
import { columnDateOrNull } from '../../db/columns.js';
import { readRows } from '../../db/read-rows.js';
import { requireAdmin, requireWriter } from '../shared/authz.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { isValidUsername, normalizeUsername, validateUsername } from './people.validation.js';
import { KvUnavailableError } from '../../cache/kv-store.js';
import { charLength } from '../shared/text.js';

interface SessionRecord {
  userId: number;
  username: string;
  isAdmin: boolean;
  expiresAt: string;
}

/**
 * Runs a session-store call; an unreachable store (Redis down or frozen) becomes UNAVAILABLE.
 * Sessions and the sign-in throttle live only in the KV store, so there is no fallback: better
 * a clear "try again" than a sign-in that skips the throttle or a session nobody can check.
 */
async function sessionStore<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KvUnavailableError) {
      throw new DomainError(
        'UNAVAILABLE',
        'Sign-in and sessions are unavailable right now: the session store (Redis) does not answer. Try again shortly, or use an API token.',
      );
    }
    throw e;
  }
}

// lastUsedAt is written at most this often per token: a write per request would cost more than the read.
const LAST_USED_RESOLUTION_MS = 60_000;
const ALL_SCOPES = Object.values(TokenScope);

/**
 * Resolves the `Authorization` header to a {@link Viewer}. No header → null (anonymous);
 * a header that names no live credential → UNAUTHENTICATED, so a typo is never mistaken for
 * "signed out".
 */
export async function authenticate(
  em: EntityManager,
  deps: DomainDeps,
  header: string | undefined | null,
): Promise<Viewer | null> {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthenticated('Malformed Authorization header: expected "Bearer <token>".');
  const secret = m[1];
  const hash = sha256(secret);
  if (secret.startsWith('phs_')) {
    const raw = await sessionStore(() => deps.kv.get(`session:${hash}`));
    if (!raw) throw unauthenticated('Session expired or signed out; sign in again.');
    const s = JSON.parse(raw) as SessionRecord;
    return {
      userId: s.userId,
      username: s.username,
      isAdmin: s.isAdmin,
      scopes: sessionScopes(s.isAdmin),
      via: 'session',
      credentialId: hash,
    };
  }
  // Not cached in Redis (docs/adr/0008-credential-cache.md): revocation must win over any
  // cached credential, and a Redis restored from an old dump, or one that missed the
  // invalidation while it was down, would hand a revoked token back. Checking the row on
  // each request costs what the lookup itself costs: one read by the unique token_hash index,
  // joined to the user by primary key. The primary, not a replica: a token created or
  // revoked a moment ago must count at once.
  // A plain row of the columns needed (no entities: this runs on every request).
  const token = await tokenLookup(em, deps, hash);
  if (!token) throw unauthenticated('Unknown or revoked API token.');
  if (Date.now() - (token.lastUsedAt?.getTime() ?? 0) > LAST_USED_RESOLUTION_MS) {
    // The principal may be shared by the requests of one lookup: one of them writes it.
    token.lastUsedAt = new Date();
    await em.nativeUpdate(ApiToken, { id: token.id }, { lastUsedAt: token.lastUsedAt });
  }
  return {
    userId: token.userId,
    username: token.username,
    isAdmin: token.isAdmin,
    // An admin-scoped token of a user who is no longer admin keeps only what the user has.
    scopes: token.isAdmin ? token.scopes : token.scopes.filter((s) => s !== TokenScope.ADMIN),
    via: 'token',
    credentialId: String(token.id),
  };
}

interface TokenPrincipal {
  id: number;
  scopes: TokenScope[];
  lastUsedAt: Date | null;
  userId: number;
  username: string;
  isAdmin: boolean;
}

/** A token's lookups on one process: whether one runs, and the requests waiting for the next. */
interface LookupSlot {
  waiting: {
    em: EntityManager;
    resolve: (t: TokenPrincipal | null) => void;
    reject: (e: unknown) => void;
  }[];
}

/** Per platform (its DomainDeps), per token hash. */
const lookupSlots = new WeakMap<DomainDeps, Map<string, LookupSlot>>();

/**
 * {@link findTokenPrincipal}, coalesced per token (issue 9, P1: a bot's concurrent requests
 * with one token each ran the same statement): a request waits for a lookup that **starts
 * after it arrived**, never for one already running (which may have read the row before a
 * revocation the request came after), so every answer is as exact as a lookup of its own
 * (ADR 0008). With no lookup of the token running, a request starts one at once; requests
 * arriving while one runs share the next, started as soon as that one ends.
 */
function tokenLookup(
  em: EntityManager,
  deps: DomainDeps,
  hash: string,
): Promise<TokenPrincipal | null> {
  let slots = lookupSlots.get(deps);
  if (!slots) lookupSlots.set(deps, (slots = new Map<string, LookupSlot>()));
  const running = slots.get(hash);
  if (running) {
    return new Promise((resolve, reject) => running.waiting.push({ em, resolve, reject }));
  }
  const slot: LookupSlot = { waiting: [] };
  slots.set(hash, slot);
  const next = (): void => {
    const batch = slot.waiting.splice(0);
    if (!batch.length) {
      slots.delete(hash);
      return;
    }
    findTokenPrincipal(batch[0].em, hash).then(
      (t) => {
        next();
        for (const w of batch) w.resolve(t);
      },
      (e: unknown) => {
        next();
        for (const w of batch) w.reject(e);
      },
    );
  };
  return findTokenPrincipal(em, hash).finally(next);
}

/** The unrevoked token with this hash and its user's columns, in one indexed read on the primary. */
async function findTokenPrincipal(em: EntityManager, hash: string): Promise<TokenPrincipal | null> {
  const rows = await readRows(
    em,
    'select t.id, t.scopes, t.last_used_at, u.id as user_id, u.username, u.is_admin from api_tokens t join users u on u.id = t.user_id where t.token_hash = ? and t.revoked_at is null limit 1',
    [hash],
    true,
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: Number(r.id),
    scopes: (typeof r.scopes === 'string' ? JSON.parse(r.scopes) : r.scopes) as TokenScope[],
    lastUsedAt: columnDateOrNull(r.last_used_at),
    userId: Number(r.user_id),
    username: String(r.username),
    isAdmin: r.is_admin === true || r.is_admin === 1 || r.is_admin === '1',
  };
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('not-a-password-of-anyone');
  return dummy;
}

/** Failed sign-ins allowed per user (or name that names nobody) within {@link LOGIN_WINDOW_SECONDS}. */
export const MAX_FAILED_LOGINS = 10;
/**
 * Failed sign-ins allowed per client address within {@link LOGIN_WINDOW_SECONDS}, whatever
 * names they try: slows password spraying across many users from one place. Behind a proxy
 * set PHANTOM_TRUST_PROXY, or every client shares the proxy's address (and its budget).
 */
export const MAX_FAILED_LOGINS_PER_ADDRESS = 50;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Signs in with a password; the session lives in the KV store (Redis) with a TTL. Failures
 * are counted in the shared KV store (every replica agrees) on two keys: the user (by id;
 * a name that names nobody by its hash), so a guesser is slow from anywhere, and the client
 * address. The username is normalized first, so spellings the database collation would fold
 * (`VIEWER1`, `viewer1 `, `ówner1`) neither reach another user nor dodge the user's counter.
 */
export async function login(ctx: DomainContext, username: string, password: string) {
  const name = normalizeUsername(username);
  // A name that cannot exist is never looked up: the collation might fold it onto a real user.
  const found = isValidUsername(name)
    ? await ctx.em.findOne(User, { username: name }, { connectionType: 'write' })
    : null;
  const user = found && found.username === name ? found : null;
  const userKey = user ? `login-fail:user:${user.id}` : `login-fail:name:${sha256(name)}`;
  const addressKey = ctx.clientAddress ? `login-fail:addr:${ctx.clientAddress}` : null;
  const [userFailures, addressFailures] = await Promise.all([
    sessionStore(() => ctx.deps.kv.get(userKey)).then((v) => Number(v ?? 0)),
    addressKey ? sessionStore(() => ctx.deps.kv.get(addressKey)).then((v) => Number(v ?? 0)) : 0,
  ]);
  if (userFailures >= MAX_FAILED_LOGINS) {
    throw new DomainError(
      'RATE_LIMITED',
      `Too many failed sign-ins for "${name}"; try again in ${LOGIN_WINDOW_SECONDS / 60} minutes or use an API token.`,
    );
  }
  if (addressFailures >= MAX_FAILED_LOGINS_PER_ADDRESS) {
    throw new DomainError(
      'RATE_LIMITED',
      `Too many failed sign-ins from your address; try again in ${LOGIN_WINDOW_SECONDS / 60} minutes or use an API token.`,
    );
  }
  // Same answer for "no such user" and "wrong password": the API does not reveal which users exist.
  // Without a user (or password) still spend a KDF's time, so timing does not reveal who exists.
  const ok = user?.passwordHash
    ? await verifyPassword(password, user.passwordHash)
    : (await verifyPassword(password, await dummyHash()), false);
  if (!user || !ok) {
    await sessionStore(() =>
      Promise.all([
        ctx.deps.kv.incr(userKey, LOGIN_WINDOW_SECONDS),
        addressKey ? ctx.deps.kv.incr(addressKey, LOGIN_WINDOW_SECONDS) : null,
      ]),
    );
    throw unauthenticated('Wrong username or password.');
  }
  // The address counter stays: one success (maybe the attacker's own account) must not reset a spray.
  if (userFailures) await sessionStore(() => ctx.deps.kv.del(userKey));
  const token = newSecret('phs_');
  const expiresAt = new Date(Date.now() + ctx.deps.sessionTtlSeconds * 1000);
  const rec: SessionRecord = {
    userId: user.id,
    username: user.username,
    isAdmin: user.isAdmin,
    expiresAt: expiresAt.toISOString(),
  };
  await sessionStore(() =>
    ctx.deps.kv.set(`session:${sha256(token)}`, JSON.stringify(rec), ctx.deps.sessionTtlSeconds),
  );
  return { token, expiresAt, user };
}

/** Ends the caller's session. Returns false for API-token callers (revoke the token instead). */
export async function logout(ctx: DomainContext): Promise<boolean> {
  if (!ctx.viewer) throw unauthenticated();
  if (ctx.viewer.via !== 'session') return false;
  await sessionStore(() => ctx.deps.kv.del(`session:${ctx.viewer!.credentialId}`));
  return true;
}

export interface CreateUserInput {
  username: string;
  password?: string | null;
  displayName?: string | null;
  isAdmin?: boolean | null;
}

/** Users ordered by username, a page at a time (platform admins only: who has an account is theirs to see). */
export async function listUsers(
  ctx: DomainContext,
  first: number,
  afterUsername?: string,
): Promise<{ items: UserRow[]; hasNextPage: boolean }> {
  requireAdmin(ctx.viewer);
  const rows = await findUserRows(ctx.em, first + 1, afterUsername);
  return { items: rows.slice(0, first), hasNextPage: rows.length > first };
}

export async function createUser(ctx: DomainContext, rawInput: CreateUserInput): Promise<User> {
  const admin = requireAdmin(ctx.viewer);
  // Stored in its one spelling (see normalizeUsername), the spelling sign-in looks up.
  const input = { ...rawInput, username: normalizeUsername(rawInput.username) };
  validateUsername(input.username);
  if (input.password != null && (input.password.length < 8 || input.password.length > 200)) {
    throw badInput('password', 'Password must be 8 to 200 characters.');
  }
  if (input.displayName != null && charLength(input.displayName) > 200) {
    throw badInput('displayName', 'Display name is at most 200 characters.');
  }
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return ctx.em
    .transactional(async (em) => {
      if (await em.count(User, { username: input.username }, { connectionType: 'write' })) {
        throw new DomainError('CONFLICT', `User "${input.username}" already exists.`, {
          field: 'username',
        });
      }
      const user = em.create(User, {
        username: input.username,
        displayName: input.displayName ?? input.username,
        passwordHash,
        isAdmin: input.isAdmin ?? false,
      });
      em.persist(user);
      recordEvent(em, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: admin.username,
        payload: { change: 'USER_CREATED', username: user.username, isAdmin: user.isAdmin },
      });
      return user;
    })
    .catch((e) => {
      // Two concurrent creates: the loser hits the unique index.
      if (e instanceof UniqueConstraintViolationException) {
        throw new DomainError('CONFLICT', `User "${input.username}" already exists.`, {
          field: 'username',
        });
      }
      throw e;
    })
    .finally(() => ctx.deps.onEventsCommitted());
}

/** Creates an API token for the caller. The secret is returned once and stored hashed. */
export async function createApiToken(ctx: DomainContext, name: string, scopes: TokenScope[]) {
  const viewer = requireWriter(ctx.viewer);
  const trimmed = name.trim();
  if (!trimmed || charLength(trimmed) > 100)
    throw badInput('name', 'Token name must be 1 to 100 characters.');
  const unique = [...new Set(scopes)];
  if (!unique.length) throw badInput('scopes', 'Give at least one scope (READ, WRITE or ADMIN).');
  // A credential cannot mint a stronger one than itself.
  const beyond = unique.filter((s) => !viewer.scopes.includes(s));
  if (beyond.length)
    throw badInput('scopes', `You cannot grant scopes you do not hold: ${beyond.join(', ')}.`);
  const secret = newSecret('pht_');
  const token = await ctx.em.transactional(async (em) => {
    // The user's row lock serializes two concurrent creates of one name (MySQL; SQLite has one writer).
    await em.findOne(User, { id: viewer.userId }, forUpdate(em));
    // Names tell tokens apart in `apiTokens` and in the events: a second live token of the same
    // name (compared case-insensitively, as MySQL's collation would) is refused. A revoked
    // token's name may be reused.
    const live = await em.find(
      ApiToken,
      { user: viewer.userId, revokedAt: null },
      { fields: ['name'] },
    );
    if (live.some((t) => sameTokenName(t.name, trimmed))) {
      throw conflict(
        `You already have a token named "${trimmed}"; choose another name or revoke that one.`,
        { field: 'name' },
      );
    }
    const t = em.create(ApiToken, {
      user: em.getReference(User, viewer.userId),
      name: trimmed,
      tokenHash: sha256(secret),
      scopes: unique.sort((a, b) => ALL_SCOPES.indexOf(a) - ALL_SCOPES.indexOf(b)),
    });
    em.persist(t);
    recordEvent(em, {
      type: PlatformEventType.TOKEN_CREATED,
      actor: viewer.username,
      payload: { tokenName: trimmed, scopes: t.scopes },
    });
    return t;
  });
  ctx.deps.onEventsCommitted();
  return { token: secret, apiToken: token };
}

const sameTokenName = (a: string, b: string) =>
  a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();

/**
 * Revokes one of the caller's tokens (platform admins acting with an ADMIN-scoped credential:
 * anyone's). Others' tokens read as not found, also for an admin user whose credential lacks
 * the ADMIN scope: revoking someone else's token is an admin action like any other.
 */
export async function revokeApiToken(ctx: DomainContext, id: number): Promise<boolean> {
  const viewer = requireWriter(ctx.viewer);
  // The committed row is all it takes: token checks read it on every request, so no cache
  // (nor a Redis that is down or restored from an old dump) can bring the token back.
  await ctx.em.transactional(async (em) => {
    const token = await em.findOne(ApiToken, { id, revokedAt: null }, { populate: ['user'] });
    if (!token || (token.user.id !== viewer.userId && !actsAsAdmin(viewer)))
      throw notFound('API token');
    token.revokedAt = new Date();
    recordEvent(em, {
      type: PlatformEventType.TOKEN_REVOKED,
      actor: viewer.username,
      payload: { tokenName: token.name, owner: token.user.username },
    });
  });
  ctx.deps.onEventsCommitted();
  return true;
}

/** The caller's own tokens, newest first. */
export async function listApiTokens(ctx: DomainContext): Promise<ApiToken[]> {
  const viewer = ctx.viewer;
  if (!viewer) throw unauthenticated();
  return ctx.em.find(
    ApiToken,
    { user: viewer.userId, revokedAt: null },
    { orderBy: { id: 'desc' }, limit: 100 },
  );
}

/**
 * Makes sure the bootstrap admin exists and that `token` is its live `PHANTOM_ADMIN_TOKEN` API
 * token (ADMIN scope); tokens from earlier values of the setting are revoked (rotation). How a
 * fresh install gets its first admin. Revoking this token through the API lasts only until the
 * next start with the same setting: unset or change `PHANTOM_ADMIN_TOKEN` to retire it.
 */
export async function ensureBootstrapAdmin(em: EntityManager, token: string): Promise<void> {
  const attempt = () =>
    em.fork().transactional(async (tx) => {
      let admin = await tx.findOne(User, { username: 'admin' });
      if (!admin) {
        admin = tx.create(User, { username: 'admin', displayName: 'Administrator', isAdmin: true });
        tx.persist(admin);
      } else if (!admin.isAdmin) {
        admin.isAdmin = true;
      }
      const hash = sha256(token);
      // The setting is the source of truth: its token is live, earlier values of it are not.
      const bootstrap = await tx.find(ApiToken, { user: admin, name: BOOTSTRAP_TOKEN_NAME });
      for (const t of bootstrap) {
        if (t.tokenHash === hash) t.revokedAt = null;
        else if (!t.revokedAt) t.revokedAt = new Date();
      }
      if (!bootstrap.some((t) => t.tokenHash === hash)) {
        tx.persist(
          tx.create(ApiToken, {
            user: admin,
            name: BOOTSTRAP_TOKEN_NAME,
            tokenHash: hash,
            scopes: [...ALL_SCOPES],
          }),
        );
      }
    });
  try {
    await attempt();
  } catch (e) {
    // Two replicas starting on a fresh database: the second one retries and finds the rows.
    if (!(e instanceof UniqueConstraintViolationException)) throw e;
    await attempt();
  }
}

/** Name of the API token that `PHANTOM_ADMIN_TOKEN` maintains. */
export const BOOTSTRAP_TOKEN_NAME = 'PHANTOM_ADMIN_TOKEN';
