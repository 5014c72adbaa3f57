/**
 * Phantom's typed topic map for the fan-out bus. Each module adds its topics here; payloads
 * are plain JSON.
 */
import type { PlatformEventMessage } from '../domain/events/platform-event.record.js';

export interface PhantomTopics {
  [topic: string]: unknown;
  /** Each platform event, published by the outbox relay right after it is on the stream. */
  platformEvents: PlatformEventMessage;
}
