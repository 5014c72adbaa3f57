/** Small pieces the pages share: status badges, cards, field lists, times. */
import type { ReactNode } from 'react';

/** A release or ticket status as a coloured badge (the colour is presentation only). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status.toLowerCase()}`}>{status.replace(/_/g, ' ')}</span>
  );
}

export function Card({
  title,
  children,
  className,
}: {
  title: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={className ? `card ${className}` : 'card'}>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function Fields({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A time in the reader's locale; '—' for none. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const d = new Date(at);
  return <time dateTime={d.toISOString()}>{d.toLocaleString()}</time>;
}
