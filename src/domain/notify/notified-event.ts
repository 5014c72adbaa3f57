import type { PlatformEventMessage } from '../events/platform-event.record.js';

/**
 * A platform event as the notifier stores and renders it: the wire form of the
 * `platform-events` stream (`at` as ISO-8601). Kept structural so a delivery row stays
 * readable whatever the events module adds later.
 */
export type NotifiedEvent = PlatformEventMessage;
