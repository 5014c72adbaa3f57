/** The simulated Kubernetes API server (see docs/adr/0003-k8s-simulator.md). */
export { startSimulatedCluster } from './sim-server.js';
export type { SimClusterOptions, SimulatedCluster, InjectedFailure } from './sim-server.js';
export { kubeconfigFor } from './kubeconfig.js';
export type { SimTiming } from './types.js';
export { DEFAULT_TIMING } from './types.js';
