/**
 * Phantom's typed topic map for the fan-out bus. Each module adds its topics here; payloads
 * are plain JSON.
 */
export interface PhantomTopics {
  [topic: string]: unknown;
}
