/** Opaque global ids: base64url("Type:localId"). The GraphQL layer parses them; domain payloads carry them. */
export function toGlobalId(type: string, id: number | string): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}
