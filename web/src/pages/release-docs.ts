/**
 * The release pages' names for the documents and types `npm run codegen` generates from
 * `graphql/release.graphql` (see web/codegen.ts).
 */
import type {
  PodEventsSubscription,
  PodFieldsFragment,
  ReleaseProgressSubscription,
  ReleaseQuery,
  ReleaseStateFragment,
  TicketSummaryFragment,
} from '../gql/graphql';

export {
  ApproveTicketDocument as APPROVE,
  CancelReleaseDocument as CANCEL,
  PodEventsDocument as POD_EVENTS,
  PromoteReleaseDocument as PROMOTE,
  RejectTicketDocument as REJECT,
  ReleaseDocument as RELEASE,
  ReleaseProgressDocument as RELEASE_PROGRESS,
  RollbackReleaseDocument as ROLLBACK,
  WorkloadPodsDocument as WORKLOAD_PODS,
} from '../gql/graphql';

export type Release = NonNullable<ReleaseQuery['release']>;
/** What `releaseProgress` carries: the release's changing state. */
export type ReleaseState = ReleaseStateFragment;
export type ReleaseStep = ReleaseState['steps'][number];
export type ClusterProgress = ReleaseState['clusters'][number];
export type TicketSummary = TicketSummaryFragment;
export type ProgressEntry = ReleaseProgressSubscription['releaseProgress'];
export type Pod = PodFieldsFragment;
export type PodEvent = PodEventsSubscription['podEvents'];

export const TERMINAL = new Set<string>([
  'SUCCEEDED',
  'FAILED',
  'ROLLED_BACK',
  'CANCELED',
  'REJECTED',
]);
