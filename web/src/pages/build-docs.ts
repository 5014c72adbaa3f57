/**
 * Build documents and their result types, typed by hand against schema/schema.graphql
 * (see api.ts for why there is no codegen step).
 */
import { gql } from 'urql';

export interface BuildSummary {
  id: string;
  number: number;
  ref: string | null;
  commit: string | null;
  status: string;
  image: string | null;
  triggeredBy: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface Build extends BuildSummary {
  app: string;
  message: string | null;
  cancelRequested: boolean;
  startedAt: string | null;
  viewerCanCancel: boolean;
  dependencies: { name: string; version: string; path: string }[] | null;
}

export const BUILD_TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export const BUILD = gql<{ build: Build | null }, { id: string }>`
  query Build($id: ID!) {
    build(id: $id) {
      id
      app
      number
      ref
      commit
      status
      image
      message
      cancelRequested
      triggeredBy
      createdAt
      startedAt
      finishedAt
      viewerCanCancel
      dependencies {
        name
        version
        path
      }
    }
  }
`;

export interface LogChunk {
  offset: number;
  lines: string[];
  nextOffset: number;
}

export const BUILD_LOG = gql<{ buildLog: LogChunk }, { id: string; offset: number | null }>`
  subscription BuildLog($id: ID!, $offset: Int) {
    buildLog(id: $id, offset: $offset) {
      offset
      lines
      nextOffset
    }
  }
`;

export const APP_BUILDS = gql<{ app: { builds: { edges: { node: BuildSummary }[] } } | null }, { name: string }>`
  query AppBuilds($name: String!) {
    app(name: $name) {
      builds(first: 10) {
        edges {
          node {
            id
            number
            ref
            commit
            status
            image
            triggeredBy
            createdAt
            finishedAt
          }
        }
      }
    }
  }
`;

export const TRIGGER_BUILD = gql<{ triggerBuild: { id: string } }, { app: string; ref: string | null }>`
  mutation TriggerBuild($app: String!, $ref: String) {
    triggerBuild(app: $app, ref: $ref) {
      id
    }
  }
`;

export const CANCEL_BUILD = gql<{ cancelBuild: { id: string; cancelRequested: boolean } }, { id: string }>`
  mutation CancelBuild($id: ID!) {
    cancelBuild(id: $id) {
      id
      cancelRequested
    }
  }
`;
