import type { AppRecord } from '../domain/apps/app.service.js';
import type { MemberRow } from '../domain/apps/app.repository.js';
import type { User } from '../domain/people/user.entity.js';
import type { ApiToken } from '../domain/people/api-token.entity.js';
import type { Environment } from '../domain/settings/environment.entity.js';
import type { TicketRecord } from '../domain/tickets/ticket.record.js';
import { toGlobalId } from './global-id.js';

/**
 * Domain records → GraphQL objects (global ids, `__typename` for Node resolution). An app read
 * by a page may carry its `memberRows`: `App.members` answers from them without a statement.
 */
export type PresentedApp = Omit<AppRecord, 'id'> & {
  __typename: 'App';
  localId: number;
  id: string;
  memberRows?: MemberRow[];
};

export function presentApp(a: AppRecord & { memberRows?: MemberRow[] }): PresentedApp {
  // Written out rather than spread: a page presents up to 100 of these per request.
  return {
    __typename: 'App',
    localId: a.id,
    id: toGlobalId('App', a.id),
    name: a.name,
    kind: a.kind,
    description: a.description,
    repository: a.repository,
    buildCommand: a.buildCommand,
    startCommand: a.startCommand,
    stopCommand: a.stopCommand,
    container: a.container,
    releaseConfig: a.releaseConfig,
    version: a.version,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    memberRows: a.memberRows,
  };
}

/** A user as GraphQL shows it; `isAdmin` is filtered per viewer by the `User.isAdmin` field resolver. */
export type PresentedUser = ReturnType<typeof presentUser>;

/**
 * `self`: the object is the caller's own user even though the request has no viewer yet
 * (`login` answers with the user who just signed in).
 */
export function presentUser(
  u: Pick<User, 'id' | 'username' | 'displayName' | 'isAdmin'>,
  opts: { self?: boolean } = {},
) {
  return {
    __typename: 'User' as const,
    id: toGlobalId('User', u.id),
    localId: u.id,
    username: u.username,
    displayName: u.displayName,
    isAdmin: u.isAdmin,
    self: opts.self ?? false,
  };
}

export function presentApiToken(t: ApiToken) {
  return {
    id: toGlobalId('ApiToken', t.id),
    name: t.name,
    scopes: t.scopes,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt ?? null,
  };
}

export function presentEnvironment(e: Environment) {
  return {
    __typename: 'Environment' as const,
    id: toGlobalId('Environment', e.id),
    name: e.name,
    requiresApproval: e.requiresApproval,
    targets: e.targets,
  };
}

/**
 * A ticket with its global id. Keeps the record's fields (`appId`, `releaseId` for the
 * releases module's `Ticket.release`, and `app` as the name, which the audit plugin reads
 * from a mutation's result); the GraphQL `app` field resolves the App object.
 */
export type PresentedTicket = TicketRecord & {
  __typename: 'Ticket';
  localId: number;
  id: string;
  appName: string;
};

export function presentTicket(t: TicketRecord): PresentedTicket {
  return {
    ...t,
    __typename: 'Ticket',
    localId: t.id,
    id: toGlobalId('Ticket', t.id),
    appName: t.app,
  } as unknown as PresentedTicket;
}
