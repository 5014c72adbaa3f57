/**
 * `/tickets`: my inbox. "To decide": open tickets the API says I may decide
 * (`viewerCanDecide`); "Mine": what I asked for. Approve or reject with a comment; kept live
 * by ticket events.
 */
import { useEffect } from 'react';
import { useQuery, useSubscription } from 'urql';
import { TicketEventsDocument, TicketsDocument, type TicketsQuery } from '../gql/graphql';
import { ErrorList } from '../ErrorList';
import { Link, releasePath } from '../router';
import { Card, StatusBadge, When } from '../ui/common';
import { TicketBox } from './ReleasePage';

type TicketRow = TicketsQuery['tickets']['edges'][number]['node'];

export function TicketsPage() {
  const [open, refetchOpen] = useQuery({
    query: TicketsDocument,
    variables: { filter: { status: 'OPEN' } },
  });
  const [mine, refetchMine] = useQuery({
    query: TicketsDocument,
    variables: { filter: { mine: true } },
  });
  const [{ data: changes }] = useSubscription(
    { query: TicketEventsDocument },
    (n: number = 0) => n + 1,
  );
  const refresh = () => {
    refetchOpen({ requestPolicy: 'network-only' });
    refetchMine({ requestPolicy: 'network-only' });
  };
  useEffect(() => {
    if (changes) refresh();
    // Only a new ticket event refreshes: `refresh` is a new function on every render.
  }, [changes]);
  const toDecide =
    open.data?.tickets.edges.map((e) => e.node).filter((t) => t.viewerCanDecide) ?? [];
  const my = mine.data?.tickets.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Tickets</h1>
      </div>
      <ErrorList error={open.error ?? mine.error} />
      <h2>To decide ({toDecide.length})</h2>
      {open.data && !toDecide.length && <p className="empty">Nothing waits for you.</p>}
      <div className="cards">
        {toDecide.map((t) => (
          <TicketCard key={t.id} ticket={t} onChanged={refresh} />
        ))}
      </div>
      <h2>Mine ({my.length})</h2>
      {mine.data && !my.length && <p className="empty">You have not asked for anything.</p>}
      <div className="cards">
        {my.map((t) => (
          <TicketCard key={t.id} ticket={t} onChanged={refresh} />
        ))}
      </div>
    </section>
  );
}

function TicketCard({ ticket: t, onChanged }: { ticket: TicketRow; onChanged: () => void }) {
  const title =
    t.kind === 'RELEASE_APPROVAL' && t.release ? (
      <>
        Release of {t.appName} to {t.release.env}
      </>
    ) : (
      <>
        {t.role ?? 'Access'} on {t.appName}
      </>
    );
  return (
    <Card title={title} className="ticket-card">
      {t.release && (
        <p>
          <Link href={releasePath(t.release.id)}>
            <code>{t.release.image}</code>
          </Link>{' '}
          <StatusBadge status={t.release.status} />
        </p>
      )}
      <p className="muted small">
        Opened <When at={t.createdAt} />
      </p>
      <TicketBox ticket={t} onChanged={onChanged} />
    </Card>
  );
}
