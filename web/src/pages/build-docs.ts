/**
 * The builds pages' documents: the operations are in `web/src/graphql/builds.graphql`, typed
 * by graphql-codegen (`npm run codegen`); these names and types are what the pages import.
 */
import {
  AppBuildsDocument,
  BuildDocument,
  BuildLogDocument,
  CancelBuildDocument,
  TriggerBuildDocument,
  type AppBuildsQuery,
  type BuildLogSubscription,
  type BuildQuery,
} from '../gql/graphql';

export type Build = NonNullable<BuildQuery['build']>;
export type BuildSummary = NonNullable<AppBuildsQuery['app']>['builds']['edges'][number]['node'];
export type LogChunk = BuildLogSubscription['buildLog'];

export const BUILD_TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export const BUILD = BuildDocument;
export const BUILD_LOG = BuildLogDocument;
export const APP_BUILDS = AppBuildsDocument;
export const TRIGGER_BUILD = TriggerBuildDocument;
export const CANCEL_BUILD = CancelBuildDocument;
