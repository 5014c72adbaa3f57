/**
 * Phantom's typed topic map for the fan-out bus. Each module adds its topics here; payloads
 * are plain JSON.
 */
export interface PhantomTopics {
  [topic: string]: unknown;
  /** Pod changes of one app in one env (key `app:env`), from the k8s pod-event relay. */
  podEvents: import('../k8s/types.js').PodEventMessage;
}
