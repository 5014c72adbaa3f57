/** What a ticket asks for. */
export enum TicketKind {
  /** A release waits for an OWNER's (or admin's) go-ahead; opened by the release engine. */
  RELEASE_APPROVAL = 'RELEASE_APPROVAL',
  /** Someone asks for a role on an app; approving it grants the role. */
  ACCESS_REQUEST = 'ACCESS_REQUEST',
}

/** Where a ticket stands. Only OPEN tickets can be decided; the others are final. */
export enum TicketStatus {
  OPEN = 'OPEN',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  /** Not decided before `expiresAt` (PHANTOM_TICKET_TTL_HOURS after it was opened). */
  EXPIRED = 'EXPIRED',
  /** Closed by the platform because what it asked about went away (e.g. a canceled release). */
  CANCELED = 'CANCELED',
}
