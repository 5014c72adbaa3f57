/** The runtime an app is built for. */
export enum AppKind {
  JAVA = 'JAVA',
  NODE = 'NODE',
  GO = 'GO',
  PYTHON = 'PYTHON',
  STATIC = 'STATIC',
  OTHER = 'OTHER',
}

/** A member's role on one app. OWNER edits the app and its members; DEVELOPER releases; VIEWER reads. */
export enum AppRole {
  OWNER = 'OWNER',
  DEVELOPER = 'DEVELOPER',
  VIEWER = 'VIEWER',
}

/** How a release replaces the running version. */
export enum ReleaseStrategy {
  ROLLING = 'ROLLING',
  RECREATE = 'RECREATE',
  CANARY = 'CANARY',
}

export const ROLE_RANK: Record<AppRole, number> = { VIEWER: 1, DEVELOPER: 2, OWNER: 3 };
