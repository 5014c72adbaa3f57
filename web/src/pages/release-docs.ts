/**
 * Release documents and their result types, typed by hand against schema/schema.graphql
 * (see api.ts for why there is no codegen step).
 */
import { gql } from 'urql';

export interface ReleaseStep {
  name: string;
  cluster: string | null;
  namespace: string | null;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
}

export interface ClusterProgress {
  cluster: string;
  namespace: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
}

/** What `releaseProgress` carries: the release's changing state. */
export interface ReleaseState {
  status: string;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  steps: ReleaseStep[];
  clusters: ClusterProgress[];
  prechecks: { rule: string; passed: boolean; message: string }[];
}

export interface TicketSummary {
  id: string;
  status: string;
  requester: string;
  reason: string;
  comment: string | null;
  decidedBy: string | null;
  expiresAt: string;
  viewerCanDecide: boolean;
}

export interface Release extends ReleaseState {
  id: string;
  app: string;
  env: string;
  image: string;
  strategy: string;
  createdBy: string;
  description: string;
  cancelRequested: boolean;
  createdAt: string;
  rollbackOf: { id: string; image: string } | null;
  viewerCanCancel: boolean;
  viewerCanPromote: boolean;
  viewerCanRollback: boolean;
  ticket: TicketSummary | null;
}

const STATE = `status message startedAt finishedAt
  steps { name cluster namespace status startedAt finishedAt message }
  clusters { cluster namespace desired updated ready available }
  prechecks { rule passed message }`;

export const RELEASE = gql<{ release: Release | null }, { id: string }>`
  query Release($id: ID!) {
    release(id: $id) {
      id app env image strategy createdBy description cancelRequested createdAt
      ${STATE}
      rollbackOf { id image }
      viewerCanCancel viewerCanPromote viewerCanRollback
      ticket { id status requester reason comment decidedBy expiresAt viewerCanDecide }
    }
  }
`;

export interface ProgressEntry {
  sequence: string;
  kind: string;
  message: string;
  at: string;
  release: ReleaseState;
}

export const RELEASE_PROGRESS = gql<{ releaseProgress: ProgressEntry }, { id: string; after: string | null }>`
  subscription ReleaseProgress($id: ID!, $after: String) {
    releaseProgress(id: $id, after: $after) {
      sequence kind message at
      release { ${STATE} }
    }
  }
`;

export interface Pod {
  name: string;
  phase: string;
  status: string;
  ready: boolean;
  restarts: number;
  reason: string | null;
  image: string | null;
}

const POD = 'name phase status ready restarts reason image';

export const WORKLOAD_PODS = gql<
  { app: { workloads: { cluster: string; namespace: string; error: string | null; pods: Pod[] }[] } | null },
  { app: string; env: string }
>`
  query WorkloadPods($app: String!, $env: String!) {
    app(name: $app) { workloads(env: $env) { cluster namespace error pods { ${POD} } } }
  }
`;

export interface PodEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  cluster: string;
  namespace: string;
  observedAt: string;
  pod: Pod;
}

export const POD_EVENTS = gql<{ podEvents: PodEvent }, { app: string; env: string }>`
  subscription PodEvents($app: String!, $env: String!) {
    podEvents(app: $app, env: $env) { type cluster namespace observedAt pod { ${POD} } }
  }
`;

const RELEASE_REF = 'id status';

export const CANCEL = gql<{ cancelRelease: { id: string; status: string } }, { id: string }>`
  mutation CancelRelease($id: ID!) { cancelRelease(id: $id) { ${RELEASE_REF} } }
`;
export const PROMOTE = gql<{ promoteRelease: { id: string; status: string } }, { id: string }>`
  mutation PromoteRelease($id: ID!) { promoteRelease(id: $id) { ${RELEASE_REF} } }
`;
export const ROLLBACK = gql<{ rollbackRelease: { id: string; status: string } }, { id: string }>`
  mutation RollbackRelease($id: ID!) { rollbackRelease(id: $id) { ${RELEASE_REF} } }
`;
export const APPROVE = gql<{ approveTicket: { id: string; status: string } }, { id: string; comment: string | null }>`
  mutation ApproveTicket($id: ID!, $comment: String) { approveTicket(id: $id, comment: $comment) { id status } }
`;
export const REJECT = gql<{ rejectTicket: { id: string; status: string } }, { id: string; comment: string | null }>`
  mutation RejectTicket($id: ID!, $comment: String) { rejectTicket(id: $id, comment: $comment) { id status } }
`;

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELED', 'REJECTED']);
