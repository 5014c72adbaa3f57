import { ReleaseStrategy } from './app-kind.js';

/** Horizontal pod autoscaler settings; absent means a fixed replica count. */
export interface HpaSpec {
  minReplicas: number;
  maxReplicas: number;
  targetCpuUtilization: number;
}

/** What runs: one container per pod, sized and probed. Stored as JSON on the app row. */
export interface ContainerSpec {
  replicas: number;
  cpu: string;
  memory: string;
  port: number;
  healthCheckPath: string;
  hpa: HpaSpec | null;
}

export interface ReleaseConfig {
  strategy: ReleaseStrategy;
  autoRollback: boolean;
  /** Environments that release automatically after a successful build. */
  autoReleaseEnvs: string[];
  /** A wave that makes no progress this long fails (written as the Deployment's `progressDeadlineSeconds`). */
  progressDeadlineSeconds: number;
  /** CANARY: pods of the new image in the `<app>-canary` Deployment on the first cluster. */
  canaryReplicas: number;
  /** CANARY: how long a verified canary waits for `promoteRelease` before the rollout goes on by itself. */
  canaryPauseSeconds: number;
}

export const DEFAULT_CONTAINER: ContainerSpec = {
  replicas: 1,
  cpu: '100m',
  memory: '128Mi',
  port: 8080,
  healthCheckPath: '/healthz',
  hpa: null,
};

export const DEFAULT_RELEASE_CONFIG: ReleaseConfig = {
  strategy: ReleaseStrategy.ROLLING,
  autoRollback: true,
  autoReleaseEnvs: [],
  progressDeadlineSeconds: 120,
  canaryReplicas: 1,
  canaryPauseSeconds: 300,
};
