/**
 * Self reviews (`kubectl auth can-i`, `auth can-i --list`, `auth whoami`): the simulator has no
 * authorization, so everything is allowed; the user is the one the request impersonates (the
 * kubeconfig's `as:`, see kubeconfig.ts, or `kubectl --as`), else the apiserver's anonymous user.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Obj } from './types.js';

/** The user of a request, from its `Impersonate-User` / `Impersonate-Group` headers. */
export function requestUser(headers: IncomingHttpHeaders): { username: string; groups: string[] } {
  const user = headers['impersonate-user'];
  if (typeof user === 'string' && user) {
    const g = headers['impersonate-group'];
    const groups = (Array.isArray(g) ? g : g ? [g] : []).concat('system:authenticated');
    return { username: user, groups };
  }
  return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
}

/** The answer to a posted review of `kind` (the request's spec kept, status filled in). */
export function answerReview(
  kind: string,
  apiVersion: string,
  body: Obj,
  user: { username: string; groups: string[] },
): Obj {
  const metadata = { creationTimestamp: null };
  const spec: unknown = body.spec ?? {};
  switch (kind) {
    case 'SelfSubjectAccessReview':
      return {
        kind,
        apiVersion,
        metadata,
        spec,
        status: { allowed: true, reason: 'the simulated cluster allows every request' },
      };
    case 'SelfSubjectRulesReview':
      return {
        kind,
        apiVersion,
        metadata,
        spec,
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
    default:
      return { kind, apiVersion, metadata, status: { userInfo: user } };
  }
}
