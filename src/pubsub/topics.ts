/**
 * Phantom's typed topic map for the fan-out bus. Each module adds its topics here; payloads
 * are plain JSON.
 */
import type { PlatformEventMessage } from '../domain/events/platform-event.record.js';

export interface PhantomTopics {
  [topic: string]: unknown;
  /** Pod changes of one app in one env (key `app:env`), from the k8s pod-event relay. */
  podEvents: import('../k8s/types.js').PodEventMessage;
  /** Each platform event, published by the outbox relay right after it is on the stream. */
  platformEvents: PlatformEventMessage;
  /** Release `id` has progress entries up to `seq` (published by the release engine after each commit). */
  releaseProgress: { id: number; seq: number };
  /** Release `id`'s desired state changed (created, cancel/promote asked, approval decided): engines look at it now. */
  releaseSignal: { id: number };
  /** Build `id` was created or a cancel of it asked for: build engines look at it now. */
  buildSignal: { id: number };
  /** Build `id`'s log has lines up to `next` (exclusive); `ended` once the build is over (published by the build engine). */
  buildLog: { id: number; next: number; ended: boolean };
}
